import Foundation
import LatchkeyProtocol
import Testing

@testable import LatchkeyServer

/// The hand-written `/v1/me` JSON says what `JSONEncoder` says, for every character a field could hold.
@Suite struct HotJSONTests {
    @Test(arguments: ["alice", "quote\" back\\slash", "line\nbreak\u{1}\u{7F}\u{2028}", "ünïcødé 🔑", "a/b"])
    func theMeAnswerMatchesJSONEncoder(_ text: String) throws {
        for assurance in [nil, "apple-app-attest"] as [String?] {
            let me = MeResponse(
                userID: "usr-" + text, username: text, deviceID: "dev-1", certificateSerial: "0a1b", notAfter: text,
                assurance: assurance)
            let fast = try JSONSerialization.jsonObject(with: Data(MeJSONResponse.encode(me).utf8)) as? NSDictionary
            let slow = try JSONSerialization.jsonObject(with: JSONEncoder().encode(me)) as? NSDictionary
            #expect(fast != nil && fast == slow, "\(MeJSONResponse.encode(me))")
            #expect(try JSONDecoder().decode(MeResponse.self, from: Data(MeJSONResponse.encode(me).utf8)) == me)
        }
    }

    /// The fixed `/v1/health` body is what ``JSONResponse`` writes for it.
    @Test func theHealthAnswerMatchesJSONResponse() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let expected = try encoder.encode(["status": "ok"])
        #expect(Data(FixedJSONResponse.health.body.readableBytesView) == expected)
    }

    /// An outbox line says what `JSONSerialization` said for it, for every kind of character and with or without a code.
    @Test(arguments: ["Your Latchkey code is 123456", "quote\" back\\slash / line\nbreak\u{1}", "ünïcødé 🔑"])
    func theOutboxLineMatchesJSONSerialization(_ text: String) throws {
        for code in [nil, "123456"] as [String?] {
            let message = OutOfBandMessage(
                kind: code == nil ? .deviceAdded : .enrollmentCode, to: "+15555550100", code: code, body: text,
                time: Date(timeIntervalSince1970: 1_800_000_000.123))
            var object: [String: Any] = [
                "time": Timestamp.string(message.time, milliseconds: true), "channel": "sms", "to": message.to,
                "body": message.body, "kind": message.kind.rawValue,
            ]
            object["code"] = message.code ?? NSNull()
            let expected = try JSONSerialization.jsonObject(
                with: JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])) as? NSDictionary
            let line = OutboxSink.line(message)
            let parsed = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? NSDictionary
            #expect(parsed != nil && parsed == expected, "\(line)")
            #expect(!line.contains("\n"))
        }
    }
}

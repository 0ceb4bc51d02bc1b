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
}

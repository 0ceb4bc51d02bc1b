import Foundation
import LatchkeyTestSupport
import Testing

/// `serve --log-format json` (SPEC §7): every line the server writes, the start banner included, is one JSON object
/// with `time`, `level` and `message`; request lines carry the request id, method, path and status.
@Suite struct JSONLogTests {
    @Test func everyLineTheServerWritesIsOneJSONObject() throws {
        let server = try ServerProcess(arguments: ["--log-format", "json"])
        let device = try OutsideDevice.enroll(server, user: try TestUser.add(server))
        #expect(try device.call(server, "GET", "/v1/me").status == 200)
        #expect(try device.call(server, "GET", "/v1/nope").status == 404)
        #expect(server.stop() == 0)
        let banner = server.startupOutput.split(separator: "\n")
        let log = try String(contentsOfFile: server.logPath, encoding: .utf8).split(separator: "\n")
        #expect(banner.count >= 5 && log.count >= 4)
        var requests: [[String: Any]] = []
        for line in banner + log {
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
            #expect(object != nil, "not one JSON object: \(line)")
            guard let object else { continue }
            for field in ["time", "level", "message"] { #expect(object[field] is String, "\(field) in \(line)") }
            if object["message"] as? String == "request" { requests.append(object) }
        }
        #expect(banner.contains { $0.contains("\"message\":\"ready\"") })
        let me = try #require(requests.first { $0["path"] as? String == "/v1/me" })
        #expect(me["route"] as? String == "/v1/me" && me["device"] as? String == device.deviceID, "\(me)")
        #expect(me["client"] as? String == "127.0.0.1")
        let notFound = try #require(requests.first { $0["path"] as? String == "/v1/nope" })
        #expect(notFound["route"] as? String == "NotFound")
        #expect(notFound["status"] as? String == "404")
        #expect((notFound["hb.request.id"] ?? notFound["request_id"]) != nil, "\(notFound)")
    }
}

import Crypto
import Foundation
import LatchkeyTestSupport
import Testing

/// The webhook and Twilio sinks against a local HTTP server that records what arrives.
@Suite(.serialized) struct OutOfBandSinkTests {
    let script = fixtures + "/fake_gateway.py"

    func startWithDemoUser(_ server: ServerProcess) throws -> Curl.Response {
        try OutsideDevice.start(server, username: "alice", password: server.demoPassword)
    }

    @Test func theWebhookSinkPostsSignedJSONAndRetriesServerErrors() throws {
        let gateway = try FakeGateway(statuses: [503, 200], script: script)
        let secret = "webhook-secret-\(UUID().uuidString)"
        let server = try ServerProcess(
            arguments: ["--demo", "--oob", "webhook:http://127.0.0.1:\(gateway.port)/latchkey/sms"],
            environment: ["LATCHKEY_WEBHOOK_SECRET": secret])
        defer { server.stop() }
        let started = try startWithDemoUser(server)
        #expect(started.status == 201, "\(started.body)")
        #expect(started.json?["channel"] as? String == "webhook")
        #expect(started.json?["destination_hint"] as? String == "+1******0100")
        let received = gateway.received
        #expect(received.count == 2)
        #expect(received.map(\.status) == [503, 200])
        let last = try #require(received.last)
        #expect(last.path == "/latchkey/sms")
        #expect(last.headers["content-type"] == "application/json")
        let timestamp = try #require(last.headers["x-latchkey-timestamp"])
        var signed = Data(timestamp.utf8)
        signed.append(0x2E)
        signed.append(last.body)
        let expected =
            "sha256="
            + HMAC<SHA256>.authenticationCode(for: signed, using: SymmetricKey(data: Data(secret.utf8)))
            .map { String(format: "%02x", $0) }.joined()
        #expect(last.headers["x-latchkey-signature"] == expected)
        let json = try #require(try JSONSerialization.jsonObject(with: last.body) as? [String: Any])
        #expect(json["to"] as? String == "+15555550100")
        #expect(json["kind"] as? String == "enrollment_code")
        let code = try #require(json["code"] as? String)
        #expect(code.count >= 6 && code.allSatisfy(\.isNumber))
        #expect((json["body"] as? String)?.contains(code) == true)
    }

    @Test func theTwilioSinkUsesTheMessagesAPIWithBasicAuth() throws {
        let gateway = try FakeGateway(statuses: [201], script: script)
        let server = try ServerProcess(
            arguments: ["--demo", "--oob", "twilio"],
            environment: [
                "TWILIO_ACCOUNT_SID": "AC0123456789abcdef", "TWILIO_AUTH_TOKEN": "token-xyz",
                "TWILIO_FROM": "+15005550006",
                "TWILIO_BASE_URL": "http://127.0.0.1:\(gateway.port)",
            ])
        defer { server.stop() }
        let started = try startWithDemoUser(server)
        #expect(started.status == 201, "\(started.body)")
        #expect(started.json?["channel"] as? String == "sms")
        let request = try #require(gateway.received.first)
        #expect(gateway.received.count == 1)
        #expect(request.path == "/2010-04-01/Accounts/AC0123456789abcdef/Messages.json")
        #expect(request.headers["content-type"] == "application/x-www-form-urlencoded")
        #expect(
            request.headers["authorization"]
                == "Basic " + Data("AC0123456789abcdef:token-xyz".utf8).base64EncodedString())
        var form: [String: String] = [:]
        for pair in String(decoding: request.body, as: UTF8.self).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1).map { String($0).removingPercentEncoding ?? "" }
            form[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        #expect(Set(form.keys) == ["To", "From", "Body"])
        #expect(form["To"] == "+15555550100")
        #expect(form["From"] == "+15005550006")
        #expect(form["Body"]?.contains("Latchkey code") == true)
    }

    @Test func aRefusingGatewayFailsTheStartAndLeavesNoEnrollment() throws {
        let gateway = try FakeGateway(statuses: [400], script: script)
        let server = try ServerProcess(
            arguments: ["--demo", "--oob", "twilio"],
            environment: [
                "TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM": "+15005550006",
                "TWILIO_BASE_URL": "http://127.0.0.1:\(gateway.port)",
            ])
        defer { server.stop() }
        let started = try startWithDemoUser(server)
        #expect(started.status == 502)
        #expect(started.errorCode == "oob_delivery_failed")
        #expect(started.json?["enrollment_id"] == nil)
        let count = try Shell.run([
            "sqlite3", server.dataDirectory + "/latchkey.sqlite",
            "SELECT COUNT(*) FROM enrollments WHERE status <> 'expired'",
        ])
        // The enrollment was stored (with its audit event) before the code went out; a failed delivery leaves it
        // expired, never pending.
        #expect(count.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == "0")
    }

    @Test func anUnreachableWebhookFailsWithAClearError() throws {
        let port = try FakeGateway(statuses: [200], script: script).port  // started and stopped: nothing listens
        let server = try ServerProcess(
            arguments: ["--demo", "--oob", "webhook:http://127.0.0.1:\(port)/x"],
            environment: ["LATCHKEY_WEBHOOK_SECRET": "0123456789abcdef0123"])
        defer { server.stop() }
        let started = try startWithDemoUser(server)
        #expect(started.status == 502)
        #expect((started.json?["message"] as? String)?.contains("webhook") == true)
    }
}

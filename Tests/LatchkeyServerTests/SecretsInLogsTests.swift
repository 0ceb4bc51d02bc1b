import Foundation
import LatchkeyTestSupport
import Testing

@Suite struct SecretsInLogsTests {
    /// A whole enrollment, a signed transfer and refusals at trace level: no password, code or private key reaches
    /// the server's log, and no password or code is stored in the clear in the database (files and WAL).
    @Test func noSecretReachesTheLogAtTraceLevelOrTheDatabase() throws {
        let server = try ServerProcess(arguments: ["--demo"], logLevel: "trace")
        let user = try TestUser.add(server)
        let device = try OutsideDevice.enroll(server, user: user)
        let code = try server.code(to: user.phone)
        _ = try OutsideDevice.start(server, username: user.username, password: "wrong-\(user.password)")
        let accounts =
            try JSONSerialization.jsonObject(with: Data(try device.call(server, "GET", "/v1/accounts").body.utf8))
            as? [[String: Any]] ?? []
        let from = accounts.first?["id"] as? String ?? ""
        let transfer = try device.signedCall(
            server, "POST", "/v1/transfers",
            body: "{\"from\":\"\(from)\",\"to\":\"DE89370400440532013000\",\"amount\":\"1.00\",\"currency\":\"EUR\"}")
        #expect(transfer.status == 201)
        server.stop()
        let log = try String(contentsOfFile: server.logPath, encoding: .utf8)
        #expect(log.contains("request"), "the log should not be empty")
        let key = try String(contentsOfFile: device.keyPath, encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        let caKey = try String(contentsOfFile: server.dataDirectory + "/ca/issuing.key", encoding: .utf8)
            .split(separator: "\n").filter { !$0.hasPrefix("-----") }.joined()
        for secret in [user.password, server.demoPassword, code, String(key.prefix(40)), String(caKey.prefix(40))] {
            #expect(!log.contains(secret), "a secret reached the log")
        }
        let database = try FileManager.default.contentsOfDirectory(atPath: server.dataDirectory)
            .filter { $0.hasPrefix("latchkey.sqlite") }
            .map { try Data(contentsOf: URL(fileURLWithPath: server.dataDirectory + "/" + $0)) }
        #expect(!database.isEmpty)
        for secret in [user.password, server.demoPassword, code] {
            #expect(!database.contains { $0.range(of: Data(secret.utf8)) != nil }, "a secret is stored in the clear")
        }
    }
}

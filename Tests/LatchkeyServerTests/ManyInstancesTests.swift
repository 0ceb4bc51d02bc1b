import Foundation
import LatchkeyTestSupport
import Testing

/// Two `latchkey serve` instances on one PostgreSQL database behind nginx in TCP pass-through mode, with load on
/// both (docs/DEPLOYMENT.md): revocation, nonces, code attempts and rate limits are shared.
@Suite(.serialized) struct ManyInstancesTests {
    static var enabled: Bool {
        (TestDatabases.postgresServerURL != nil && NginxStream.isAvailable) || TestDatabases.isCI
    }

    @Test(.enabled(if: ManyInstancesTests.enabled))
    func twoInstancesBehindATCPProxyShareRevocationNoncesCodeAttemptsAndLimits() throws {
        let database = try TestDatabases.fresh(.postgres)
        let arguments = ["--database", database, "--enroll-limit-account", "4"]
        let first = try ServerProcess(arguments: arguments)
        defer { first.stop() }
        // The second instance has its own copy of the data directory (CA, keys), as a second host would; its outbox
        // is the first one's file, so the test reads every code in one place.
        let copy = try Shell.temporaryDirectory("second") + "/data"
        try FileManager.default.copyItem(atPath: first.dataDirectory, toPath: copy)
        try? FileManager.default.removeItem(atPath: copy + "/outbox.jsonl")
        try FileManager.default.createSymbolicLink(
            atPath: copy + "/outbox.jsonl", withDestinationPath: first.outboxPath)
        let second = try ServerProcess(dataDirectory: copy, arguments: arguments)
        defer { second.stop() }
        let front = try NginxStream(servers: [first, second])
        defer { front.stop() }

        // Load through the proxy for the whole test: a new connection (full mutual-TLS handshake) per request, so
        // both instances take their share.
        let loadUser = try TestUser.add(first)
        let loadDevice = try OutsideDevice.enroll(first, user: loadUser, via: front)
        let load = Process()
        load.executableURL = URL(fileURLWithPath: Shell.benchBinary)
        load.arguments = [
            "load", "--url", front.apiURL, "--mode", "handshake", "--path", "/v1/me", "--cert",
            loadDevice.certificatePath, "--key", loadDevice.keyPath, "--connections", "4", "--seconds", "6",
            "--warmup", "0", "--json",
        ]
        let loadOutput = Pipe()
        load.standardOutput = loadOutput
        load.standardError = Pipe()
        try load.run()

        // Nonces: issued by one instance, consumed on the other, refused when replayed on the first.
        let user = try TestUser.add(first)
        let device = try OutsideDevice.enroll(first, user: user, via: front)
        let lost = try OutsideDevice.enroll(first, user: user, via: front)
        let accounts = try device.call(first, "GET", "/v1/accounts")
        let from = try #require(
            (try JSONSerialization.jsonObject(with: Data(accounts.body.utf8)) as? [[String: Any]])?
                .first?["id"] as? String)
        let body = "{\"from\":\"\(from)\",\"to\":\"DE89370400440532013000\",\"amount\":\"1.00\",\"currency\":\"EUR\"}"
        let nonce = try device.nonce(first)
        #expect(try device.signedCall(second, "POST", "/v1/transfers", body: body, nonce: nonce).status == 201)
        #expect(
            try device.signedCall(first, "POST", "/v1/transfers", body: body, nonce: nonce).errorCode == "nonce_reused")

        // Revocation through one instance (the user revokes a lost phone) is refused by the other at once.
        #expect(try lost.call(first, "GET", "/v1/me").status == 200)
        let revoked = try device.signedCall(second, "DELETE", "/v1/devices/\(lost.deviceID)")
        #expect(revoked.status == 204, "\(revoked.body)")
        let revokedAt = Date()
        let refused = try lost.call(first, "GET", "/v1/me")
        let elapsed = Date().timeIntervalSince(revokedAt)
        #expect(refused.errorCode == "device_revoked")
        #expect(elapsed < 1.0, "refused after \(elapsed) s")

        // Code attempts: wrong codes on both instances add up, and the fifth locks the enrollment everywhere.
        let guessed = try TestUser.add(first)
        let started = try OutsideDevice.start(front, username: guessed.username, password: guessed.password)
        let id = try #require(started.json?["enrollment_id"] as? String, "\(started.body)")
        let code = try first.code(to: guessed.phone)
        let (csr, _) = try OutsideDevice.makeCSR(in: try Shell.temporaryDirectory())
        let wrong = String(format: "%08d", (Int(code)! + 1) % 100_000_000)
        for attempt in 1...5 {
            let instance: ServerProcess = attempt % 2 == 0 ? second : first
            let answer = try OutsideDevice.complete(instance, id: id, code: wrong, csr: csr)
            #expect(answer.errorCode == (attempt < 5 ? "code_invalid" : "enrollment_locked"), "attempt \(attempt)")
        }
        #expect(try OutsideDevice.complete(second, id: id, code: code, csr: csr).errorCode == "enrollment_locked")

        // The per-account limit (4 starts an hour) holds across both instances.
        let limited = try TestUser.add(first)
        var statuses: [Int] = []
        for index in 0..<5 {
            let instance: ServerProcess = index % 2 == 0 ? first : second
            statuses.append(
                try OutsideDevice.start(instance, username: limited.username, password: limited.password).status)
        }
        #expect(statuses == [201, 201, 201, 201, 429])

        load.waitUntilExit()
        let json = try #require(
            try JSONSerialization.jsonObject(with: loadOutput.fileHandleForReading.readDataToEndOfFile())
                as? [String: Any])
        #expect(load.terminationStatus == 0)
        #expect((json["operations"] as? Int ?? 0) > 0, "\(json)")
        #expect(json["errors"] as? Int == 0, "\(json)")
        // Both instances served the load.
        for instance in [first, second] {
            let log = try String(contentsOfFile: instance.logPath, encoding: .utf8)
            #expect(log.contains("/v1/me"), "\(instance.apiURL) served no request")
        }
    }
}

import Crypto
import Foundation
import LatchkeyPKI
import LatchkeyTestSupport
import Testing
import X509

/// Races and crashes against the real server (issue 9): 1,000 concurrent enrollment completions, concurrent renewals
/// of one device, and a SIGKILL in the middle of an enrollment load.
@Suite(.serialized) struct RaceAndCrashTests {
    func sqlite(_ server: ServerProcess, _ query: String) throws -> String {
        let result = try Shell.run(["sqlite3", server.dataDirectory + "/latchkey.sqlite", query])
        try #require(result.status == 0, "sqlite3: \(result.stderr)")
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    func seed(_ server: ServerProcess, count: Int) throws -> String {
        let seeded = try server.bench(["seed-enrollments", "--count", String(count)])
        try #require(seeded.status == 0, "\(seeded.stderr)")
        let file = try Shell.temporaryDirectory("seeded") + "/enrollments.txt"
        try seeded.stdout.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    static let benchUser = "(SELECT id FROM users WHERE username = 'bench-enroller')"

    /// Every completed enrollment has its device and certificate; every pending one has neither.
    func expectConsistentEnrollments(_ server: ServerProcess) throws {
        let orphanedCompletions = try sqlite(
            server,
            """
            SELECT COUNT(*) FROM enrollments e WHERE e.status = 'completed' AND NOT EXISTS
              (SELECT 1 FROM devices d JOIN certificates c ON c.device_id = d.id WHERE d.id = e.device_id)
            """)
        #expect(orphanedCompletions == "0", "completed enrollments without a device and certificate")
        let devicesWithoutCompletion = try sqlite(
            server,
            """
            SELECT COUNT(*) FROM devices d WHERE d.user_id = \(Self.benchUser) AND NOT EXISTS
              (SELECT 1 FROM enrollments e WHERE e.device_id = d.id AND e.status = 'completed')
            """)
        #expect(devicesWithoutCompletion == "0", "devices whose enrollment is not marked used")
        let pendingButUsed = try sqlite(
            server, "SELECT COUNT(*) FROM enrollments WHERE status = 'pending' AND device_id IS NOT NULL")
        #expect(pendingButUsed == "0", "enrollments both unused and consumed")
    }

    @Test func aThousandConcurrentEnrollmentsGetAThousandDistinctSerials() throws {
        let server = try ServerProcess(logLevel: "warning")
        defer { server.stop() }
        let file = try seed(server, count: 1000)
        let run = try Shell.run([
            Shell.benchBinary, "load", "--url", server.enrollURL, "--workload", "enroll", "--enrollments",
            file, "--connections", "1000", "--seconds", "300", "--warmup", "0", "--json",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: run.stdoutData) as? [String: Any])
        #expect(json["operations"] as? Int == 1000, "\(json)")
        #expect(json["errors"] as? Int == 0, "\(json)")
        let counts = try sqlite(
            server,
            """
            SELECT COUNT(*) || ' ' || COUNT(DISTINCT c.serial) FROM certificates c JOIN devices d ON d.id = c.device_id
            WHERE d.user_id = \(Self.benchUser) AND c.revoked_at IS NULL
            """)
        #expect(counts == "1000 1000")
        #expect(
            try sqlite(server, "SELECT COUNT(*) FROM enrollments WHERE status = 'completed' AND device_id IS NOT NULL")
                == "1000")
        try expectConsistentEnrollments(server)
        #expect(try server.latchkey(["audit", "verify"]).status == 0)
    }

    @Test func concurrentRenewalsOfOneDeviceLeaveExactlyOneValidCertificate() throws {
        let server = try ServerProcess(logLevel: "warning")
        defer { server.stop() }
        let device = try OutsideDevice.enroll(server, user: try TestUser.add(server))
        let directory = try Shell.temporaryDirectory("renewals")
        var commands: [[String]] = []
        var keys: [String] = []
        for index in 0..<12 {
            let (csr, key) = try OutsideDevice.makeCSR(in: directory)
            keys.append(key)
            let body = directory + "/renew-\(index).json"
            try JSONSerialization.data(withJSONObject: ["csr": csr]).write(to: URL(fileURLWithPath: body))
            commands.append([
                "curl", "-sS", "--max-time", "30", "--cacert", server.rootCertificatePath, "--cert",
                device.certificatePath, "--key", device.keyPath, "-H", "Content-Type: application/json",
                "--data-binary", "@" + body, "-w", "\n%{http_code}", server.apiURL + "/v1/certificates/renew",
            ])
        }
        let results = Shell.runConcurrently(commands)
        var issued: [(certificate: String, key: String)] = []
        for (index, result) in results.enumerated() {
            let lines = result.stdout.split(separator: "\n")
            let status = Int(lines.last ?? "") ?? 0
            #expect(status < 500 && status != 0, "renewal \(index): \(result.stdout) \(result.stderr)")
            if status == 201,
                let json = try? JSONSerialization.jsonObject(with: Data(lines.dropLast().joined().utf8))
                    as? [String: Any], let certificate = json["certificate"] as? String
            {
                issued.append((certificate, keys[index]))
            }
        }
        #expect(!issued.isEmpty)
        #expect(
            try sqlite(
                server,
                "SELECT COUNT(*) FROM certificates WHERE device_id = '\(device.deviceID)' AND revoked_at IS NULL")
                == "1")
        // Of the certificates handed out, exactly one is accepted.
        var accepted = 0
        for (index, entry) in issued.enumerated() {
            let path = directory + "/issued-\(index).pem"
            try entry.certificate.write(toFile: path, atomically: true, encoding: .utf8)
            let me = try Curl.request(
                "GET", server.apiURL + "/v1/me", caFile: server.rootCertificatePath, certificate: path, key: entry.key)
            if me.status == 200 { accepted += 1 }
        }
        #expect(accepted == 1)
    }

    /// SIGKILL while enrollments are being completed: after a restart every certificate a client received is in
    /// the database and valid, no enrollment is both unused and consumed, and the audit chain verifies.
    @Test func aServerKilledDuringEnrollmentLoadLosesNothingItAnswered() throws {
        let first = try ServerProcess(logLevel: "warning")
        let file = try seed(first, count: 4000)
        let directory = try Shell.temporaryDirectory("crash")
        let keys = directory + "/keys.txt"
        let record = directory + "/received.jsonl"
        let generator = Process()
        generator.executableURL = URL(fileURLWithPath: Shell.benchBinary)
        generator.arguments = [
            "load", "--url", first.enrollURL, "--workload", "enroll", "--enrollments", file, "--connections",
            "32", "--seconds", "4", "--warmup", "0", "--record", record, "--csr-keys", keys, "--json",
        ]
        generator.standardOutput = Pipe()
        generator.standardError = Pipe()
        try generator.run()
        Thread.sleep(forTimeInterval: 1.5)
        first.stop(signal: SIGKILL)
        generator.waitUntilExit()

        let received = try String(contentsOfFile: record, encoding: .utf8).split(separator: "\n")
        #expect(received.count > 10, "the load completed too few enrollments before the kill to mean anything")
        let second = try ServerProcess(dataDirectory: first.dataDirectory, logLevel: "warning")
        defer { second.stop() }
        let valid = Set(
            try sqlite(second, "SELECT serial FROM certificates WHERE revoked_at IS NULL").split(separator: "\n").map(
                String.init))
        for (index, line) in received.enumerated() {
            let json = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            let pem = try #require(json["certificate"] as? String)
            let certificate = try Certificate(pemEncoded: pem)
            let serial = SerialNumberGenerator.hex(certificate.serialNumber)
            #expect(
                valid.contains(serial), "received certificate \(index) (serial \(serial)) is not valid after restart")
            if index < 3 {
                let path = directory + "/received-\(index).pem"
                try pem.write(toFile: path, atomically: true, encoding: .utf8)
                let spki = Hex.lowercase(SHA256.hash(data: SPKIPin.subjectPublicKeyInfoDER(certificate.publicKey)))
                let line = try #require(
                    try String(contentsOfFile: keys, encoding: .utf8).split(separator: "\n").first {
                        $0.hasPrefix(spki + " ")
                    })
                let keyPath = directory + "/key-\(index).pem"
                try Data(base64Encoded: String(line.split(separator: " ")[1]))!.write(to: URL(fileURLWithPath: keyPath))
                let me = try Curl.request(
                    "GET", second.apiURL + "/v1/me", caFile: second.rootCertificatePath, certificate: path,
                    key: keyPath)
                #expect(me.status == 200, "\(me.body)")
            }
        }
        try expectConsistentEnrollments(second)
        let verified = try second.latchkey(["audit", "verify"])
        #expect(verified.status == 0, "\(verified.stdout)\(verified.stderr)")
    }
}

import ArgumentParser
import Foundation
import LatchkeyCommandLine
import Crypto
import LatchkeyStore

/// `latchkey-bench store`: durable completions per second and certificate lookups per second, SQLite and PostgreSQL.
struct BenchStoreCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "store",
        abstract:
            "Completions (device + certificate + audit row, durable) per second, and certificate-by-serial lookups per second with 1,000 and 1,000,000 devices.",
        discussion:
            "SQLite always (a temporary file); PostgreSQL with --postgres URL (a scratch database: rows are added to it)."
    )

    @Option(help: "A scratch PostgreSQL database URL.") var postgres: String?
    @Option(
        name: .customLong("sqlite-path"),
        help: "Where to write the SQLite database (kept, for Benchmarks/StoreEngines); a new temporary file otherwise.")
    var sqlitePath: String?
    @Option(help: "Seconds per measurement.") var seconds: Double = 3
    @Option(help: "Concurrent tasks issuing completions and lookups.") var concurrency = 8
    @Option(name: .customLong("large-devices"), help: "Devices stored for the large lookup figure.") var largeDevices =
        1_000_000

    func validate() throws {
        guard largeDevices > 1_000 else { throw ValidationError("--large-devices must be more than 1000") }
        guard seconds > 0, concurrency > 0 else {
            throw ValidationError("--seconds and --concurrency must be positive")
        }
    }

    func run() async throws {
        var targets: [(String, DatabaseURL)] = [
            (
                "SQLite",
                .sqlite(
                    path: sqlitePath ?? NSTemporaryDirectory() + "/latchkey-bench-\(UUID().uuidString.prefix(8)).sqlite")
            )
        ]
        if let postgres { targets.append(("PostgreSQL", try DatabaseURL(postgres))) }
        print(
            "| store | completions/s | lookups/s (1,000 devices) | lookups/s (\(largeDevices) devices) | ratio large/small |"
        )
        print("|---|---|---|---|---|")
        for (name, url) in targets {
            let store = try await SQLStore.open(url, auditKey: SymmetricKey(size: .bits256))
            let prefix = "b" + UUID().uuidString.prefix(6).lowercased() + "-"
            let user = UserRecord(
                id: prefix + "user", username: prefix + "user", passwordHash: "x", phone: "+15555550100", email: nil,
                createdAt: Date())
            try await store.createUser(
                user, accounts: [],
                audit: AuditEntry(time: Date(), actor: "bench", action: "user.created", subject: user.id))
            let completions = try await measureCompletions(store, user: user, prefix: prefix)
            try await store.seedSyntheticDevices(count: 1_000, userID: user.id, prefix: prefix + "small-")
            let small = try await measureLookups(store, prefix: prefix + "small-", count: 1_000)
            try await store.seedSyntheticDevices(
                count: largeDevices - 1_000, userID: user.id, prefix: prefix + "large-")
            let large = try await measureLookups(store, prefix: prefix + "large-", count: largeDevices - 1_000)
            try await store.close()
            print(String(format: "| %@ | %.0f | %.0f | %.0f | %.2f |", name, completions, small, large, large / small))
        }
    }

    func measureCompletions(_ store: SQLStore, user: UserRecord, prefix: String) async throws -> Double {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(seconds * 1000)))
        let start = ContinuousClock.now
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for worker in 0..<concurrency {
                group.addTask {
                    var done = 0
                    while ContinuousClock.now < deadline {
                        let id = "\(prefix)w\(worker)-\(done)"
                        let now = Date()
                        try await store.createEnrollment(
                            EnrollmentRecord(
                                id: "e-" + id, userID: user.id, deviceName: "bench", channel: "outbox",
                                destination: user.phone, codeHash: "x", expiresAt: now.addingTimeInterval(600),
                                clientAddress: nil, createdAt: now),
                            audit: AuditEntry(time: now, actor: "bench", action: "enrollment.started", subject: id))
                        try await store.completeEnrollment(
                            id: "e-" + id,
                            device: DeviceRecord(id: "d-" + id, userID: user.id, name: "bench", enrolledAt: now),
                            certificate: CertificateRecord(
                                serial: "s-" + id, deviceID: "d-" + id, notBefore: now,
                                notAfter: now.addingTimeInterval(3600),
                                spkiSHA256: id, derBase64: "AA=="),
                            audit: AuditEntry(time: now, actor: "bench", action: "device.enrolled", subject: "d-" + id),
                            now: now)
                        done += 1
                    }
                    return done
                }
            }
            return try await group.reduce(0, +)
        }
        return Double(total) / Self.seconds(ContinuousClock.now - start)
    }

    func measureLookups(_ store: SQLStore, prefix: String, count: Int) async throws -> Double {
        let deadline = ContinuousClock.now.advanced(by: .milliseconds(Int64(seconds * 1000)))
        let start = ContinuousClock.now
        let total = try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var done = 0
                    while ContinuousClock.now < deadline {
                        let serial = prefix + "s-" + String(Int.random(in: 1...count))
                        guard try await store.certificateStatus(serial: serial) != nil else {
                            throw CommandFailure("lookup of \(serial) found nothing")
                        }
                        done += 1
                    }
                    return done
                }
            }
            return try await group.reduce(0, +)
        }
        return Double(total) / Self.seconds(ContinuousClock.now - start)
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

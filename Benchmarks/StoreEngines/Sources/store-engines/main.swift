import Foundation
import GRDB

/// `store-engines DATABASE [--seconds S] [--concurrency C]`
///
/// Certificate-by-serial lookups through GRDB on a database written by `latchkey-bench store --sqlite-path`, with
/// the store's own query (`SQLStore.certificateStatus`): every row is decoded as the store decodes it. Prints one
/// Markdown row per way of reading, for serials drawn from the 1,000-device set and from the large set.
let arguments = CommandLine.arguments
guard arguments.count >= 2 else {
    FileHandle.standardError.write(Data("usage: store-engines DATABASE [--seconds S] [--concurrency C]\n".utf8))
    exit(2)
}
func option(_ name: String, _ fallback: Double) -> Double {
    guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count,
        let value = Double(arguments[index + 1])
    else { return fallback }
    return value
}
let path = arguments[1]
let seconds = option("--seconds", 3)
let concurrency = Int(option("--concurrency", 8))


/// The fields `CertificateStatus` holds, decoded from a row.
struct Status: Sendable {
    let serial: String
    let deviceID: String
    let userID: String
    let notAfter: Int64
    let revokedAt: Int64?
    let status: String
    let username: String
    let userStatus: String
    let assurance: String
    let attestPublicKey: String?

    init(_ row: Row) {
        serial = row["serial"]
        deviceID = row["device_id"]
        userID = row["user_id"]
        notAfter = row["not_after"]
        revokedAt = row["revoked_at"]
        status = row["status"]
        username = row["username"]
        userStatus = row["user_status"]
        assurance = row["assurance"]
        attestPublicKey = row["attest_public_key"]
    }
}

enum Lookup {
    static let query = """
        SELECT c.serial, c.device_id, d.user_id, c.not_after, c.revoked_at, d.status, u.username,
            u.status AS user_status, d.assurance, d.attest_public_key
        FROM certificates c JOIN devices d ON d.id = c.device_id JOIN users u ON u.id = d.user_id
        WHERE c.serial = ?
        """

    static func run(_ db: Database, _ serial: String) throws -> Status {
        let statement = try db.cachedStatement(sql: query)
        guard let row = try Row.fetchOne(statement, arguments: [serial]) else {
            throw NSError(domain: "store-engines", code: 1, userInfo: [NSLocalizedDescriptionKey: "\(serial) not found"])
        }
        return Status(row)
    }

    /// `tasks` tasks, each awaiting one `read` per lookup until `deadline`; the lookups done.
    static func concurrently(
        _ pool: DatabasePool, _ serials: [String], tasks: Int, until deadline: ContinuousClock.Instant
    ) async throws -> Int {
        try await withThrowingTaskGroup(of: Int.self) { group in
            for _ in 0..<tasks {
                group.addTask {
                    var count = 0
                    while ContinuousClock.now < deadline {
                        _ = try await pool.read { db in try run(db, serials.randomElement()!) }
                        count += 1
                    }
                    return count
                }
            }
            return try await group.reduce(0, +)
        }
    }
}

func elapsed(since start: ContinuousClock.Instant) -> Double {
    let duration = ContinuousClock.now - start
    return Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
}

var configuration = Configuration()
configuration.readonly = true
configuration.maximumReaderCount = max(concurrency, 1)
let pool = try DatabasePool(path: path, configuration: configuration)
let sets: [(String, [String])] = try pool.read { db in
    let small = try String.fetchAll(db, sql: "SELECT serial FROM certificates WHERE serial LIKE '%small-s-%'")
    let large = try String.fetchAll(db, sql: "SELECT serial FROM certificates WHERE serial LIKE '%large-s-%'")
    return [("1,000 devices", small), ("\(large.count + small.count) devices", large)]
}
guard sets.allSatisfy({ !$0.1.isEmpty }) else {
    FileHandle.standardError.write(Data("no synthetic devices in \(path): run latchkey-bench store first\n".utf8))
    exit(1)
}

print("| engine | way of reading | set | lookups/s |")
print("|---|---|---|---|")
for (name, serials) in sets {
    // One reader, one `read` per lookup: what a per-request call from synchronous code costs.
    var start = ContinuousClock.now
    var done = 0
    while elapsed(since: start) < seconds {
        for _ in 0..<100 { _ = try pool.read { db in try Lookup.run(db, serials.randomElement()!) } }
        done += 100
    }
    print(String(format: "| GRDB 7.10 | sync `read` per lookup, 1 thread | %@ | %.0f |", name, Double(done) / elapsed(since: start)))

    // `concurrency` tasks, each awaiting `read` per lookup: the shape of Latchkey's store calls.
    start = ContinuousClock.now
    let deadline = start.advanced(by: .milliseconds(Int64(seconds * 1000)))
    done = try await Lookup.concurrently(pool, serials, tasks: concurrency, until: deadline)
    print(
        String(
            format: "| GRDB 7.10 | async `read` per lookup, %d tasks | %@ | %.0f |", concurrency, name,
            Double(done) / elapsed(since: start)))

    // Many lookups inside one `read`: the statement and decoding cost alone (a floor, not a per-request shape).
    start = ContinuousClock.now
    done = 0
    try pool.read { db in
        while elapsed(since: start) < seconds {
            for _ in 0..<1000 { _ = try Lookup.run(db, serials.randomElement()!) }
            done += 1000
        }
    }
    print(String(format: "| GRDB 7.10 | 1,000 lookups per `read`, 1 thread | %@ | %.0f |", name, Double(done) / elapsed(since: start)))
}

// Write transactions of a signed transfer's shape, one writer, on scratch files (each engine its own).
print()
print("| engine | write transaction (12 statements), one writer | synchronous | transactions/s |")
print("|---|---|---|---|")
let scratch = NSTemporaryDirectory() + "/store-engines-\(UUID().uuidString.prefix(8))"
try FileManager.default.createDirectory(atPath: scratch, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: scratch) }
for sync in ["FULL", "OFF"] {
    let nio = try await WriteTransactions.sqliteNIO(path: scratch + "/nio-\(sync).sqlite", sync: sync, seconds: seconds)
    print(String(format: "| sqlite-nio 1.13 + SQLKit (SQLStore before issue 17) | a hop per statement | %@ | %.0f |", sync, nio))
    let grdb = try await WriteTransactions.grdb(path: scratch + "/grdb-\(sync).sqlite", sync: sync, seconds: seconds)
    print(String(format: "| GRDB 7.10 | `write` closure, cached statements | %@ | %.0f |", sync, grdb))
}

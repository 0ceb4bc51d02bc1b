import Crypto
import Foundation
import GRDB
import NIOConcurrencyHelpers
import NIOPosix
import SQLKit
import Testing

@testable import LatchkeyStore

#if canImport(Glibc)
    import Glibc
#endif

/// The SQLite backend's own parts: the SQLKit adapter over GRDB and the pool that lends its connections.
@Suite struct SQLiteEngineTests {
    /// The thread that calls this, as a string SQL can return.
    private static func currentThread() -> String { String(describing: pthread_self()) }

    /// A connection whose SQL function `thread_name()` names the thread that runs the statement.
    private static func connectionNamingItsThread() throws -> DatabaseQueue {
        let queue = try DatabaseQueue()
        queue.inDatabase { db in
            db.add(
                function: DatabaseFunction("thread_name", argumentCount: 0) { _ in Self.currentThread() })
        }
        return queue
    }

    @Test func blockingStatementsRunOnTheBackendsThreadAndOthersOnTheCallers() async throws {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let poolThread = try await pool.runIfActive { Self.currentThread() }
        let db = GRDBSQLDatabase(
            connection: try Self.connectionNamingItsThread(), blockingStatements: ["SELECT thread_name() AS t"],
            blockingPool: pool, logger: .init(label: "test"), eventLoop: MultiThreadedEventLoopGroup.singleton.any())
        let blocking = try await db.raw("SELECT thread_name() AS t").first()?.decode(column: "t", as: String.self)
        let inline = try await db.raw("SELECT thread_name() AS t, 1 AS one").first()?.decode(column: "t", as: String.self)
        #expect(blocking == poolThread)
        #expect(inline != poolThread)
        try await pool.shutdownGracefully()
    }

    @Test func rowsDecodeStrictly() async throws {
        let db = GRDBSQLDatabase(
            connection: try DatabaseQueue(), blockingStatements: [], blockingPool: nil, logger: .init(label: "test"),
            eventLoop: MultiThreadedEventLoopGroup.singleton.any())
        let row = try #require(try await db.raw("SELECT 7 AS n, 'seven' AS s, NULL AS z").first())
        #expect(try row.decode(column: "n", as: Int64.self) == 7)
        #expect(try row.decode(column: "s", as: String.self) == "seven")
        #expect(try row.decode(column: "z", as: Int64?.self) == nil)
        #expect(try row.decodeNil(column: "z"))
        #expect(throws: GRDBDecodeError.self) { try row.decode(column: "n", as: String.self) }
        #expect(throws: GRDBDecodeError.self) { try row.decode(column: "s", as: Int64.self) }
        #expect(throws: GRDBDecodeError.self) { try row.decode(column: "z", as: Int64.self) }
        #expect(throws: GRDBDecodeError.self) { try row.decode(column: "missing", as: Int64?.self) }
        #expect(throws: GRDBDecodeError.self) { try row.decode(column: "n", as: Date.self) }
    }

    @Test func bindsAreStoredAsTheirSQLiteValuesOrRefused() async throws {
        let db = GRDBSQLDatabase(
            connection: try DatabaseQueue(), blockingStatements: [], blockingPool: nil, logger: .init(label: "test"),
            eventLoop: MultiThreadedEventLoopGroup.singleton.any())
        let none: String? = nil
        let some: Int64? = 42
        let row = try #require(
            try await db.raw(
                "SELECT typeof(\(bind: "a")) AS s, typeof(\(bind: Int64(1))) AS i, typeof(\(bind: none)) AS n, \(bind: some) AS v"
            ).first())
        #expect(try row.decode(column: "s", as: String.self) == "text")
        #expect(try row.decode(column: "i", as: String.self) == "integer")
        #expect(try row.decode(column: "n", as: String.self) == "null")
        #expect(try row.decode(column: "v", as: Int64.self) == 42)
        await #expect(throws: GRDBBindError.self) { try await db.raw("SELECT \(bind: UUID()) AS u").run() }
    }

    @Test func aPoolLendsEachResourceToOneCallerAndDrains() async throws {
        let pool = ResourcePool([0, 1])
        let inUse = NIOLockedValueBox<(now: Set<Int>, most: Int, overlaps: Int)>(([], 0, 0))
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<20 {
                group.addTask {
                    try await pool.withResource { resource in
                        inUse.withLockedValue {
                            if $0.now.contains(resource) { $0.overlaps += 1 }
                            $0.now.insert(resource)
                            $0.most = max($0.most, $0.now.count)
                        }
                        try await Task.sleep(for: .milliseconds(2))
                        inUse.withLockedValue { _ = $0.now.remove(resource) }
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(inUse.withLockedValue { $0.overlaps } == 0)
        #expect(inUse.withLockedValue { $0.most } == 2)
        #expect(Set(await pool.drain()) == [0, 1])
        await #expect(throws: ResourcePoolClosed.self) { try await pool.withResource { _ in 0 } }
    }

    /// A fresh file in a directory of its own.
    private static func scratchFile() throws -> String {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("sqlite-engine-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        return directory.appendingPathComponent("test.sqlite").path
    }

    @Test func aFailedStatementsErrorNamesNoValue() async throws {
        let connection = try DatabaseQueue(
            path: try Self.scratchFile(), configuration: SQLiteBackend.configuration(label: "test"))
        let db = GRDBSQLDatabase(
            connection: connection, blockingStatements: [], blockingPool: nil, logger: .init(label: "test"),
            eventLoop: MultiThreadedEventLoopGroup.singleton.any())
        try await db.raw("CREATE TABLE secrets (value TEXT CHECK (length(value) < 3))").run()
        let secret = "hunter2-\(UUID())"
        do {
            try await db.raw("INSERT INTO secrets (value) VALUES (\(bind: secret))").run()
            Issue.record("the CHECK constraint did not fail")
        } catch {
            #expect(!String(describing: error).contains(secret))
            #expect(!String(reflecting: error).contains(secret))
            #expect(!FailureCause.describe(error).contains(secret))
            #expect(FailureCause.describe(error).hasPrefix("SQLite 275"), "\(FailureCause.describe(error))")
        }
    }

    @Test func aSessionThatLeavesATransactionOpenDoesNotPassItOn() async throws {
        let backend = try await SQLiteBackend(path: try Self.scratchFile(), logger: .init(label: "test"))
        try await backend.withSession { db in try await db.raw("BEGIN IMMEDIATE").run() }
        try await backend.withSession { db in
            try await db.raw("BEGIN IMMEDIATE").run()
            try await db.raw("CREATE TABLE t (x BIGINT)").run()
            try await db.raw("COMMIT").run()
        }
        let count = try await backend.withReadSession { db in
            try await db.raw("SELECT COUNT(*) AS n FROM sqlite_master WHERE name = 't'").first()?
                .decode(column: "n", as: Int64.self)
        }
        #expect(count == 1)
        try await backend.close()
        try await backend.close()
    }

    @Test func aFileThatIsNotADatabaseIsRefusedWithSQLitesReason() async throws {
        let path = try Self.scratchFile()
        let garbage = "not a database, and not a secret either \(UUID())"
        try Data(String(repeating: garbage, count: 200).utf8).write(to: URL(fileURLWithPath: path))
        do {
            _ = try await SQLStore.open(try DatabaseURL("sqlite:" + path), auditKey: .init(size: .bits256))
            Issue.record("a garbage file was opened as a database")
        } catch let error as StoreError {
            #expect(error.code == .databaseUnavailable)
            #expect(error.message.contains("SQLite 26"), "\(error.message)")
            #expect(!error.message.contains(garbage))
        }
    }

    /// The CRL's query reads the unexpired revoked certificates through their partial, covering index, not every
    /// certificate issued.
    @Test func theCRLQueryUsesTheRevokedIndex() async throws {
        let path = try Self.scratchFile()
        let store = try await SQLStore.open(try DatabaseURL("sqlite:" + path), auditKey: .init(size: .bits256))
        _ = try await store.revokedCertificates(now: Date())
        try await store.close()
        let plan = try await DatabaseQueue(path: path).read { db in
            try Row.fetchAll(
                db,
                sql: """
                    EXPLAIN QUERY PLAN SELECT serial, revoked_at FROM certificates
                    WHERE revoked_at IS NOT NULL AND not_after > 0 ORDER BY revoked_at, serial
                    """
            ).map { $0["detail"] as String? ?? "" }
        }
        #expect(plan.contains { $0.contains("COVERING INDEX certificates_revoked_unexpired (not_after>?)") }, "\(plan)")
    }

    /// Several stores opening one new file at once (a server and the CLI upgrading together) each apply what is
    /// missing and nothing twice: every open succeeds at the latest version.
    @Test func concurrentOpensMigrateOneFileOnce() async throws {
        let url = try DatabaseURL("sqlite:" + (try Self.scratchFile()))
        let key = SymmetricKey(size: .bits256)
        let versions = try await withThrowingTaskGroup(of: Int64.self) { group in
            for _ in 0..<4 {
                group.addTask {
                    let store = try await SQLStore.open(url, auditKey: key)
                    let version = try await store.schemaVersion()
                    try await store.close()
                    return version
                }
            }
            return try await group.reduce(into: [Int64]()) { $0.append($1) }
        }
        #expect(versions.count == 4)
        #expect(Set(versions).count == 1 && versions.first ?? 0 >= 8, "\(versions)")
    }
}

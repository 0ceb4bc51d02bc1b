import Foundation
import GRDB
import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import SQLKit

#if canImport(Glibc)
    import Glibc
#endif

/// The embedded default: one SQLite file in WAL mode with durable commits (`synchronous=FULL`), through GRDB.
///
/// One writer connection serves every write session in turn: SQLite allows one writer at a time anyway. Reads go to
/// reader connections of their own: in WAL mode a reader never waits for a writer (a backup, a long `audit verify`,
/// another process's transaction), so read-only requests keep being answered while a write commits. There is one
/// reader per core but one (one on a single core): reads run on the caller's thread, and a long one (an audit export)
/// leaves the other cooperative threads free.
///
/// Statements run on the caller's thread with prepared statements kept per connection (``GRDBSQLDatabase``); only
/// `BEGIN IMMEDIATE` (which may wait for another process's write lock) and `COMMIT` (which waits for the disk) run
/// on a thread of the backend's own, so waiting for either never starves other work.
final class SQLiteBackend: SQLBackend {
    private let blockingPool: NIOThreadPool
    private let writer: ResourcePool<GRDBSQLDatabase>
    private let readers: ResourcePool<GRDBSQLDatabase>
    private let closed = NIOLockedValueBox(false)

    /// Starts a write transaction, taking the write lock at once (so it may wait for another process's).
    private static let beginWrite = "BEGIN IMMEDIATE"

    let beginTransactionSQL = SQLiteBackend.beginWrite
    let beginReadTransactionSQL = "BEGIN DEFERRED"
    let migrationLock: (acquire: String, release: String)? = nil
    /// SQLite has no announcements: other processes (the CLI, a second server on the file) are seen by polling.
    let announceRevocationSQL: String? = nil
    /// One writer: transactions that arrive while another commits share the next commit (one fsync).
    let groupCommit: GroupCommit?

    /// How long a statement waits for another process's lock before failing.
    static let busyTimeout: TimeInterval = 10

    init(path: String, logger: Logger) async throws {
        // The database holds password and code hashes: create it readable by its owner only.
        let fd = open(path, O_RDWR | O_CREAT, 0o600)
        if fd >= 0 { Glibc.close(fd) }
        let blockingPool = NIOThreadPool(numberOfThreads: 1)
        blockingPool.start()
        self.blockingPool = blockingPool
        let eventLoop = MultiThreadedEventLoopGroup.singleton.any()

        var writerConfiguration = Self.configuration(label: "latchkey.sqlite.writer")
        writerConfiguration.prepareDatabase { db in
            try Self.useWAL(db)
            try db.execute(sql: "PRAGMA synchronous=FULL")
        }
        let writerConnection: DatabaseQueue
        do {
            writerConnection = try DatabaseQueue(path: path, configuration: writerConfiguration)
        } catch let error as StoreError {
            try? await blockingPool.shutdownGracefully()
            throw error
        } catch {
            try? await blockingPool.shutdownGracefully()
            throw StoreError(
                .databaseUnavailable,
                "cannot open the SQLite database at \(path) (\(FailureCause.describe(error)))")
        }
        do {
            try Self.checkVersion(of: writerConnection)
        } catch {
            try? writerConnection.close()
            try? await blockingPool.shutdownGracefully()
            throw error
        }
        let writerDatabase = GRDBSQLDatabase(
            connection: writerConnection, blockingStatements: [Self.beginWrite, "COMMIT"],
            blockingPool: blockingPool, logger: logger, eventLoop: eventLoop)
        let writer = ResourcePool([writerDatabase])
        self.writer = writer

        var readerDatabases: [GRDBSQLDatabase] = []
        do {
            for index in 0..<max(1, min(7, System.coreCount - 1)) {
                var readerConfiguration = Self.configuration(label: "latchkey.sqlite.reader.\(index)")
                readerConfiguration.prepareDatabase { db in try db.execute(sql: "PRAGMA query_only=1") }
                let connection = try DatabaseQueue(path: path, configuration: readerConfiguration)
                readerDatabases.append(
                    GRDBSQLDatabase(
                        connection: connection, blockingStatements: [], blockingPool: nil, logger: logger,
                        eventLoop: eventLoop))
            }
        } catch {
            for reader in readerDatabases { try? reader.connection.close() }
            try? writerConnection.close()
            try? await blockingPool.shutdownGracefully()
            throw StoreError(
                .databaseUnavailable,
                "cannot open a reader on the SQLite database at \(path) (\(FailureCause.describe(error)))")
        }
        readers = ResourcePool(readerDatabases)

        groupCommit = GroupCommit(begin: Self.beginWrite) { body in try await Self.session(on: writer, body) }
    }

    /// Puts the database in WAL mode, or refuses it: without WAL, readers would wait for the writer and `COMMIT` for
    /// readers. Switching a new file takes a lock SQLite does not wait for (another process opening the same new file
    /// at that moment, a server and the CLI on first run): that is retried for up to the busy timeout.
    private static func useWAL(_ db: Database) throws {
        let deadline = ContinuousClock.now.advanced(by: .seconds(busyTimeout))
        while true {
            do {
                let mode = try String.fetchOne(db, sql: "PRAGMA journal_mode=WAL")
                guard mode?.lowercased() == "wal" else {
                    throw StoreError(
                        .databaseUnavailable,
                        "the SQLite database cannot use WAL mode (journal mode \(mode ?? "unknown"))")
                }
                return
            } catch let error as DatabaseError
                where error.resultCode == .SQLITE_BUSY && ContinuousClock.now < deadline
            {
                usleep(10_000)
            }
        }
    }

    /// The oldest SQLite the store's queries run on: `RETURNING` came with 3.35.0, its fixes with 3.35.5.
    static let minimumVersion = [3, 35, 5]

    /// Refuses a system SQLite too old for the store's queries, with a message that says so.
    private static func checkVersion(of connection: DatabaseQueue) throws {
        let version: String
        do {
            version = try connection.inDatabase { try String.fetchOne($0, sql: "SELECT sqlite_version()") } ?? ""
        } catch {
            throw StoreError(.databaseUnavailable, "cannot read the SQLite version (\(FailureCause.describe(error)))")
        }
        let parts = version.split(separator: ".").map { Int($0) ?? 0 }
        guard parts.lexicographicallyPrecedes(minimumVersion) == false else {
            throw StoreError(
                .databaseUnavailable,
                "the system SQLite is \(version); Latchkey needs \(minimumVersion.map(String.init).joined(separator: ".")) or newer")
        }
    }

    /// A connection's settings: foreign keys on, the busy timeout, and transactions that span several statements
    /// (the store issues `BEGIN` and `COMMIT` itself). A failed statement's error names its SQL, never its values.
    static func configuration(label: String) -> Configuration {
        var configuration = Configuration()
        configuration.label = label
        configuration.publicStatementArguments = false
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(busyTimeout)
        configuration.allowsUnsafeTransactions = true
        return configuration
    }

    func withReadSession<R: Sendable>(_ body: @Sendable @escaping (any SQLDatabase) async throws -> R) async throws
        -> R
    {
        try await Self.session(on: readers, body)
    }

    func withSession<R: Sendable>(_ body: @Sendable @escaping (any SQLDatabase) async throws -> R) async throws -> R {
        try await Self.session(on: writer, body)
    }

    /// Runs a session on a connection of `pool` and, whatever happened in it, leaves the connection outside any
    /// transaction: a session that could neither commit nor roll back (an I/O error) must not hand the next one an
    /// open transaction (a writer's lock, a reader's old snapshot that would also hold back WAL checkpoints).
    private static func session<R: Sendable>(
        on pool: ResourcePool<GRDBSQLDatabase>, _ body: (any SQLDatabase) async throws -> R
    ) async throws -> R {
        try await pool.withResource { db in
            defer { db.abandonOpenTransaction() }
            return try await body(db)
        }
    }

    /// Reads on a reader connection; nothing is ever announced. A read that hangs (another process holding a lock
    /// longer than the busy timeout) fails after it, so `readTimeout` is not needed here.
    func followRevocations(
        query: @escaping @Sendable (any SQLDatabase) async throws -> Int64,
        readTimeout: Duration,
        onAnnouncement: @escaping @Sendable () -> Void,
        body: @escaping @Sendable (_ readVersion: @escaping @Sendable () async throws -> Int64) async throws -> Void
    ) async throws {
        try await body { try await self.withReadSession(query) }
    }

    /// Closes every connection once no session uses it, then the backend's thread; a later call, even one made
    /// while the first is waiting, returns at once. Every connection is closed even if one fails to; the first
    /// failure is thrown.
    func close() async throws {
        guard closed.withLockedValue({ closed in defer { closed = true }; return !closed }) else { return }
        var failure: (any Error)?
        for database in await readers.drain() + writer.drain() {
            do { try database.connection.close() } catch { failure = failure ?? error }
        }
        do { try await blockingPool.shutdownGracefully() } catch { failure = failure ?? error }
        if let failure { throw failure }
    }
}

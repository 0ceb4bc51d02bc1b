import Foundation
import GRDB
import Logging
import NIOCore
import NIOPosix
import SQLKit

#if canImport(Glibc)
    import Glibc
#endif

/// The embedded default: one SQLite file in WAL mode with durable commits (`synchronous=FULL`), through GRDB.
///
/// One writer connection serves every write session in turn: SQLite allows one writer at a time anyway. Reads go to
/// reader connections of their own (one per core): in WAL mode a reader never waits for a writer (a backup, a long
/// `audit verify`, another process's transaction), so read-only requests keep being answered while a write commits.
///
/// Statements run on the caller's thread with prepared statements kept per connection (``GRDBSQLDatabase``); only
/// `BEGIN IMMEDIATE` (which may wait for another process's write lock) and `COMMIT` (which waits for the disk) run
/// on a thread of the backend's own, so waiting for either never starves other work.
final class SQLiteBackend: SQLBackend {
    private let blockingPool: NIOThreadPool
    private let writer: ResourcePool<GRDBSQLDatabase>
    private let readers: ResourcePool<GRDBSQLDatabase>

    let beginTransactionSQL = "BEGIN IMMEDIATE"
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
            try db.execute(sql: "PRAGMA journal_mode=WAL")
            try db.execute(sql: "PRAGMA synchronous=FULL")
        }
        let writerConnection: DatabaseQueue
        do {
            writerConnection = try DatabaseQueue(path: path, configuration: writerConfiguration)
        } catch {
            try? await blockingPool.shutdownGracefully()
            throw StoreError(.databaseUnavailable, "cannot open the SQLite database at \(path)")
        }
        let writerDatabase = GRDBSQLDatabase(
            connection: writerConnection, blockingStatements: ["BEGIN IMMEDIATE", "COMMIT"],
            blockingPool: blockingPool, logger: logger, eventLoop: eventLoop)
        let writer = ResourcePool([writerDatabase])
        self.writer = writer

        var readerDatabases: [GRDBSQLDatabase] = []
        do {
            for index in 0..<max(2, min(8, System.coreCount)) {
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
            throw StoreError(.databaseUnavailable, "cannot open a reader on the SQLite database at \(path)")
        }
        readers = ResourcePool(readerDatabases)

        groupCommit = GroupCommit(begin: "BEGIN IMMEDIATE") { body in
            try await writer.withResource { try await body($0) }
        }
    }

    /// A connection's settings: foreign keys on, the busy timeout, and transactions that span several statements
    /// (the store issues `BEGIN` and `COMMIT` itself).
    private static func configuration(label: String) -> Configuration {
        var configuration = Configuration()
        configuration.label = label
        configuration.foreignKeysEnabled = true
        configuration.busyMode = .timeout(busyTimeout)
        configuration.allowsUnsafeTransactions = true
        return configuration
    }

    func withReadSession<R: Sendable>(_ body: @Sendable @escaping (any SQLDatabase) async throws -> R) async throws
        -> R
    {
        try await readers.withResource { try await body($0) }
    }

    func withSession<R: Sendable>(_ body: @Sendable @escaping (any SQLDatabase) async throws -> R) async throws -> R {
        try await writer.withResource { try await body($0) }
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

    func close() async throws {
        for reader in await readers.drain() { try reader.connection.close() }
        for connection in await writer.drain() { try connection.connection.close() }
        try await blockingPool.shutdownGracefully()
    }
}

import Foundation
import Logging
import NIOPosix
import SQLKit
import SQLiteKit
import SQLiteNIO

#if canImport(Glibc)
    import Glibc
#endif

/// The embedded default: one SQLite file in WAL mode with durable commits (`synchronous=FULL`).
///
/// One writer connection serves every write session in turn (an ``AsyncGate``): SQLite allows one writer at a time
/// anyway. A second, read-only connection serves reads: in WAL mode a reader never waits for a writer (a backup, a
/// long `audit verify`, another process's transaction), so read-only requests keep being answered. Each connection
/// has a thread of its own, so waiting for another process's write lock never starves other work.
final class SQLiteBackend: SQLBackend {
    private let threadPool: NIOThreadPool
    private let connection: SQLiteConnection
    private let database: any SQLDatabase
    private let gate = AsyncGate()
    private let readerPool: NIOThreadPool
    private let reader: SQLiteConnection
    private let readerDatabase: any SQLDatabase
    private let readerGate = AsyncGate()

    let beginTransactionSQL = "BEGIN IMMEDIATE"
    let beginReadTransactionSQL = "BEGIN DEFERRED"
    let migrationLock: (acquire: String, release: String)? = nil
    /// SQLite has no announcements: other processes (the CLI, a second server on the file) are seen by polling.
    let announceRevocationSQL: String? = nil
    /// One writer: transactions that arrive while another commits share the next commit (one fsync).
    let groupCommit: GroupCommit?

    init(path: String, logger: Logger) async throws {
        // The database holds password and code hashes: create it readable by its owner only.
        let fd = open(path, O_RDWR | O_CREAT, 0o600)
        if fd >= 0 { Glibc.close(fd) }
        let threadPool = NIOThreadPool(numberOfThreads: 1)
        threadPool.start()
        self.threadPool = threadPool
        do {
            connection = try await SQLiteConnection.open(
                storage: .file(path: path), threadPool: threadPool, logger: logger,
                on: MultiThreadedEventLoopGroup.singleton.any())
        } catch {
            try? await threadPool.shutdownGracefully()
            throw StoreError(.databaseUnavailable, "cannot open the SQLite database at \(path)")
        }
        database = connection.sql(queryLogLevel: nil)
        let writer = database
        let gate = self.gate
        groupCommit = GroupCommit(begin: "BEGIN IMMEDIATE") { body in
            await gate.enter()
            do {
                try await body(writer)
                await gate.leave()
            } catch {
                await gate.leave()
                throw error
            }
        }
        do {
            for pragma in [
                "PRAGMA busy_timeout=10000", "PRAGMA journal_mode=WAL", "PRAGMA synchronous=FULL",
                "PRAGMA foreign_keys=ON",
            ] {
                try await database.raw(SQLQueryString(pragma)).run()
            }
        } catch {
            try? await connection.close()
            try? await threadPool.shutdownGracefully()
            throw StoreError(.databaseUnavailable, "cannot configure the SQLite database at \(path)")
        }
        let readerPool = NIOThreadPool(numberOfThreads: 1)
        readerPool.start()
        self.readerPool = readerPool
        do {
            reader = try await SQLiteConnection.open(
                storage: .file(path: path), threadPool: readerPool, logger: logger,
                on: MultiThreadedEventLoopGroup.singleton.any())
        } catch {
            try? await connection.close()
            try? await threadPool.shutdownGracefully()
            try? await readerPool.shutdownGracefully()
            throw StoreError(.databaseUnavailable, "cannot open a reader on the SQLite database at \(path)")
        }
        readerDatabase = reader.sql(queryLogLevel: nil)
        do {
            for pragma in ["PRAGMA busy_timeout=10000", "PRAGMA query_only=1"] {
                try await readerDatabase.raw(SQLQueryString(pragma)).run()
            }
        } catch {
            try? await reader.close()
            try? await connection.close()
            try? await threadPool.shutdownGracefully()
            try? await readerPool.shutdownGracefully()
            throw StoreError(.databaseUnavailable, "cannot configure a reader on the SQLite database at \(path)")
        }
    }

    func withReadSession<R: Sendable>(_ body: @Sendable @escaping (any SQLDatabase) async throws -> R) async throws
        -> R
    {
        await readerGate.enter()
        do {
            let result = try await body(readerDatabase)
            await readerGate.leave()
            return result
        } catch {
            await readerGate.leave()
            throw error
        }
    }

    func withSession<R: Sendable>(_ body: @Sendable @escaping (any SQLDatabase) async throws -> R) async throws -> R {
        await gate.enter()
        do {
            let result = try await body(database)
            await gate.leave()
            return result
        } catch {
            await gate.leave()
            throw error
        }
    }

    /// Reads on the reader connection; nothing is ever announced. A read that hangs (another process holding a lock
    /// longer than `busy_timeout`) fails after it, so `readTimeout` is not needed here.
    func followRevocations(
        query: @escaping @Sendable (any SQLDatabase) async throws -> Int64,
        readTimeout: Duration,
        onAnnouncement: @escaping @Sendable () -> Void,
        body: @escaping @Sendable (_ readVersion: @escaping @Sendable () async throws -> Int64) async throws -> Void
    ) async throws {
        try await body { try await self.withReadSession(query) }
    }

    func close() async throws {
        await readerGate.enter()
        try await reader.close()
        try await readerPool.shutdownGracefully()
        await gate.enter()
        try await connection.close()
        try await threadPool.shutdownGracefully()
    }
}

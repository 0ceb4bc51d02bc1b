import Foundation
import GRDB
import Logging
import NIOPosix
import SQLKit
import SQLiteKit
import SQLiteNIO

/// Write transactions of the shape of a signed transfer (one SELECT, one range DELETE, an INSERT, two UPDATEs, two
/// INSERTs, a SELECT and an UPDATE, between BEGIN IMMEDIATE and COMMIT), one writer after the other, on a scratch file
/// per engine in WAL mode: through sqlite-nio and SQLKit as `SQLStore` ran them before issue 17 (a thread-pool hop per
/// statement),
/// and through GRDB (the whole transaction on its writer queue, cached statements).
enum WriteTransactions {
    static let statementsPerTransaction = 12  // BEGIN + 10 + COMMIT

    static let schema = [
        "CREATE TABLE IF NOT EXISTS accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS spent (value TEXT PRIMARY KEY, expires_at INTEGER NOT NULL)",
        "CREATE INDEX IF NOT EXISTS spent_expires ON spent (expires_at)",
        "CREATE TABLE IF NOT EXISTS moves (id INTEGER PRIMARY KEY AUTOINCREMENT, amount INTEGER NOT NULL)",
        "CREATE TABLE IF NOT EXISTS events (id INTEGER PRIMARY KEY AUTOINCREMENT, body TEXT NOT NULL)",
        "CREATE TABLE IF NOT EXISTS head (id INTEGER PRIMARY KEY, seq INTEGER NOT NULL)",
        "INSERT OR IGNORE INTO head (id, seq) VALUES (1, 0)",
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000) INSERT OR IGNORE INTO accounts SELECT i, 1000000000 FROM n",
    ]

    /// Transactions per second through sqlite-nio with `synchronous` = `sync` (FULL: durable, as Latchkey; OFF: the
    /// statements alone).
    static func sqliteNIO(path: String, sync: String, seconds: Double) async throws -> Double {
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let connection = try await SQLiteConnection.open(
            storage: .file(path: path), threadPool: pool, logger: Logger(label: "bench"),
            on: MultiThreadedEventLoopGroup.singleton.any())
        let db = connection.sql(queryLogLevel: nil)
        for pragma in ["PRAGMA journal_mode=WAL", "PRAGMA synchronous=\(sync)"] + schema {
            try await db.raw(SQLQueryString(pragma)).run()
        }
        let rate = try await transactionsPerSecond(seconds: seconds) { sequence, nonce, from, to in
            try await db.raw("BEGIN IMMEDIATE").run()
            _ = try await db.raw("SELECT balance FROM accounts WHERE id = \(bind: from)").first()
            try await db.raw("DELETE FROM spent WHERE expires_at <= \(bind: sequence - 100_000)").run()
            try await db.raw("INSERT INTO spent (value, expires_at) VALUES (\(bind: nonce), \(bind: sequence))").run()
            try await db.raw("UPDATE accounts SET balance = balance - 1 WHERE id = \(bind: from) AND balance >= 1").run()
            try await db.raw("UPDATE accounts SET balance = balance + 1 WHERE id = \(bind: to)").run()
            try await db.raw("INSERT INTO moves (amount) VALUES (\(bind: 1))").run()
            _ = try await db.raw("SELECT seq FROM head WHERE id = 1").first()
            try await db.raw("INSERT INTO events (body) VALUES (\(bind: nonce))").run()
            try await db.raw("UPDATE head SET seq = seq + 1 WHERE id = 1").run()
            _ = try await db.raw("SELECT balance FROM accounts WHERE id = \(bind: to)").first()
            try await db.raw("COMMIT").run()
        }
        try await connection.close()
        try await pool.shutdownGracefully()
        return rate
    }

    /// The same transactions through GRDB's `DatabasePool.write` (async, as a server would call it).
    static func grdb(path: String, sync: String, seconds: Double) async throws -> Double {
        let pool = try DatabasePool(path: path)
        // A pool sets `synchronous=NORMAL` on its writer when it enables WAL: set it on that connection afterwards.
        try await pool.writeWithoutTransaction { db in
            try db.execute(sql: "PRAGMA synchronous=\(sync)")
            guard try String.fetchOne(db, sql: "PRAGMA synchronous") == (sync == "FULL" ? "2" : "0") else {
                throw DatabaseError(message: "synchronous=\(sync) did not take")
            }
        }
        try await pool.write { db in for statement in schema { try db.execute(sql: statement) } }
        return try await transactionsPerSecond(seconds: seconds) { sequence, nonce, from, to in
            try await pool.write { db in
                _ = try Int.fetchOne(
                    db.cachedStatement(sql: "SELECT balance FROM accounts WHERE id = ?"), arguments: [from])
                try db.cachedStatement(sql: "DELETE FROM spent WHERE expires_at <= ?").execute(
                    arguments: [sequence - 100_000])
                try db.cachedStatement(sql: "INSERT INTO spent (value, expires_at) VALUES (?, ?)").execute(
                    arguments: [nonce, sequence])
                try db.cachedStatement(sql: "UPDATE accounts SET balance = balance - 1 WHERE id = ? AND balance >= 1")
                    .execute(arguments: [from])
                try db.cachedStatement(sql: "UPDATE accounts SET balance = balance + 1 WHERE id = ?").execute(
                    arguments: [to])
                try db.cachedStatement(sql: "INSERT INTO moves (amount) VALUES (?)").execute(arguments: [1])
                _ = try Int.fetchOne(db.cachedStatement(sql: "SELECT seq FROM head WHERE id = 1"))
                try db.cachedStatement(sql: "INSERT INTO events (body) VALUES (?)").execute(arguments: [nonce])
                try db.cachedStatement(sql: "UPDATE head SET seq = seq + 1 WHERE id = 1").execute()
                _ = try Int.fetchOne(
                    db.cachedStatement(sql: "SELECT balance FROM accounts WHERE id = ?"), arguments: [to])
            }
        }
    }

    /// Runs `transaction` one after the other for `seconds`, each with its sequence number, a fresh nonce and two
    /// random accounts, and returns how many ran per second.
    static func transactionsPerSecond(
        seconds: Double, _ transaction: (_ sequence: Int, _ nonce: String, _ from: Int, _ to: Int) async throws -> Void
    ) async throws -> Double {
        var done = 0
        let start = ContinuousClock.now
        while elapsed(since: start) < seconds {
            try await transaction(done, UUID().uuidString, Int.random(in: 1...1000), Int.random(in: 1...1000))
            done += 1
        }
        return Double(done) / elapsed(since: start)
    }
}

import Logging
import PostgresKit
import PostgresNIO
import SQLKit

/// PostgreSQL through postgres-nio's `PostgresClient` connection pool, for several stateless server instances.
final class PostgresBackend: SQLBackend {
    private let client: PostgresClient
    private let runner: Task<Void, Never>

    let beginTransactionSQL = "BEGIN"
    /// PostgreSQL commits concurrent transactions of its pool in parallel (and groups their WAL flushes itself).
    let groupCommit: GroupCommit? = nil
    let beginReadTransactionSQL = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    /// A session-level advisory lock keeps two instances that start together from migrating at once.
    let migrationLock: (acquire: String, release: String)? = (
        "SELECT pg_advisory_lock(7305217)", "SELECT pg_advisory_unlock(7305217)"
    )

    init(url: DatabaseURL, logger: Logger) async throws {
        guard case .postgres(let host, let port, let user, let password, let database, let requireTLS) = url else {
            throw StoreError(.invalidDatabaseURL, "not a PostgreSQL URL")
        }
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: user, password: password, database: database,
            tls: requireTLS ? .require(.makeClientConfiguration()) : .disable)
        configuration.options.maximumConnections = 16
        // Pool housekeeping (connections opened and closed) is logged at notice and above only.
        var backgroundLogger = logger
        backgroundLogger.logLevel = max(logger.logLevel, .notice)
        let client = PostgresClient(configuration: configuration, backgroundLogger: backgroundLogger)
        self.client = client
        self.runner = Task { await client.run() }
        // Let the pool's run loop start before the first lease (PostgresNIO warns about a lease before run()).
        try? await Task.sleep(for: .milliseconds(20))
        do {
            try await client.withConnection { connection in
                _ = try await connection.query("SELECT 1", logger: logger)
            }
        } catch {
            runner.cancel()
            throw StoreError(
                .databaseUnavailable,
                "cannot connect to PostgreSQL at \(host):\(port) as \(user) (database \(database ?? user))")
        }
    }

    func withSession<R: Sendable>(_ body: @Sendable @escaping (any SQLDatabase) async throws -> R) async throws -> R {
        try await client.withConnection { connection in
            try await body(connection.sql(queryLogLevel: nil))
        }
    }

    func withReadSession<R: Sendable>(_ body: @Sendable @escaping (any SQLDatabase) async throws -> R) async throws
        -> R
    {
        try await withSession(body)
    }

    func close() async throws {
        runner.cancel()
        await runner.value
    }
}

import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOSSL
import PostgresKit
import PostgresNIO
import SQLKit

/// PostgreSQL through postgres-nio's `PostgresClient` connection pool, for several stateless server instances.
final class PostgresBackend: SQLBackend {
    private let client: PostgresClient
    private let runner: Task<Void, Never>
    /// For the connection that follows revocations (outside the pool: it listens for as long as the server runs).
    private let listenerConfiguration: PostgresConnection.Configuration
    private let logger: Logger
    /// The channel every instance listens on; a revocation's transaction announces on it.
    static let revocationChannel = "latchkey_revocations"
    /// The `application_name` of that connection, so operators (and tests) can tell it in `pg_stat_activity`.
    static let listenerApplicationName = "latchkey-revocation-listener"

    let beginTransactionSQL = "BEGIN"
    /// PostgreSQL commits concurrent transactions of its pool in parallel (and groups their WAL flushes itself).
    let groupCommit: GroupCommit? = nil
    let beginReadTransactionSQL = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"
    /// Delivered to every listening instance when (and only if) the revoking transaction commits.
    let announceRevocationSQL: String? = "NOTIFY \(PostgresBackend.revocationChannel)"
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
        var listenerConfiguration = PostgresConnection.Configuration(
            host: host, port: port, username: user, password: password, database: database,
            tls: requireTLS ? .require(try NIOSSLContext(configuration: .makeClientConfiguration())) : .disable)
        // The server cancels a catch-up read itself well before the tracker's read timeout, so a read stuck behind a
        // lock fails on the server too instead of leaving a session running there when the client gives up.
        listenerConfiguration.options.additionalStartupParameters = [
            ("application_name", "\(Self.listenerApplicationName) \(ProcessInfo.processInfo.processIdentifier)"),
            ("statement_timeout", "1000"), ("lock_timeout", "500"),
        ]
        self.listenerConfiguration = listenerConfiguration
        self.logger = logger
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

    /// LISTENs on a connection of its own, then lets `body` read the version on that same connection: a read that
    /// returns after LISTEN took effect has seen every revocation not announced since.
    func followRevocations(
        query: @escaping @Sendable (any SQLDatabase) async throws -> Int64,
        readTimeout: Duration,
        onAnnouncement: @escaping @Sendable () -> Void,
        body: @escaping @Sendable (_ readVersion: @escaping @Sendable () async throws -> Int64) async throws -> Void
    ) async throws {
        let connection: PostgresConnection
        do {
            connection = try await PostgresConnection.connect(
                configuration: listenerConfiguration, id: 0, logger: logger)
        } catch {
            throw StoreError(.databaseUnavailable, "cannot open the revocation listener connection")
        }
        let readStartedAt = ReadClock()
        do {
            // Cancellation (shutdown) closes the connection: a read that hangs cannot hold the shutdown.
            try await withTaskCancellationHandler {
                try await listen(on: connection, readStartedAt, query, readTimeout, onAnnouncement, body)
            } onCancel: {
                connection.close().whenComplete { _ in }
            }
        } catch {
            try? await connection.close()
            throw error
        }
        try? await connection.close()
    }

    private func listen(
        on connection: PostgresConnection, _ readStartedAt: ReadClock,
        _ query: @escaping @Sendable (any SQLDatabase) async throws -> Int64, _ readTimeout: Duration,
        _ onAnnouncement: @escaping @Sendable () -> Void,
        _ body: @escaping @Sendable (_ readVersion: @escaping @Sendable () async throws -> Int64) async throws -> Void
    ) async throws {
        try await connection.listen(on: Self.revocationChannel) { announcements in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask {
                    for try await _ in announcements { onAnnouncement() }
                    throw StoreError(.databaseUnavailable, "the revocation listener connection closed")
                }
                group.addTask {
                    // A hung read would hold `body` forever: closing the connection fails it (and the listening).
                    while !Task.isCancelled {
                        try await Task.sleep(for: readTimeout / 4)
                        if let started = readStartedAt.started, ContinuousClock.now - started > readTimeout {
                            try? await connection.close()
                            throw StoreError(.databaseUnavailable, "a read on the revocation listener connection hung")
                        }
                    }
                }
                group.addTask {
                    try await body {
                        readStartedAt.start()
                        defer { readStartedAt.finish() }
                        return try await query(connection.sql(queryLogLevel: nil))
                    }
                }
                defer { group.cancelAll() }
                try await group.next()
            }
        }
    }

    func close() async throws {
        runner.cancel()
        await runner.value
    }
}

/// When the read in flight on the listener connection started, if one is.
private final class ReadClock: Sendable {
    private let state = NIOLockedValueBox<ContinuousClock.Instant?>(nil)
    var started: ContinuousClock.Instant? { state.withLockedValue { $0 } }
    func start() { state.withLockedValue { $0 = .now } }
    func finish() { state.withLockedValue { $0 = nil } }
}

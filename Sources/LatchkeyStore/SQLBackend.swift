import SQLKit

/// A connection source for ``SQLStore``: hands out one session (one connection) at a time to a closure.
///
/// The two backends differ only here: how a session is obtained, how a write transaction begins, and how concurrent
/// migrations are kept apart. Every query of the store is shared.
protocol SQLBackend: Sendable {
    /// Runs `body` on one connection that no other caller uses meanwhile.
    func withSession<R: Sendable>(_ body: @Sendable @escaping (any SQLDatabase) async throws -> R) async throws -> R
    /// Runs `body` on a connection for reads only, which never waits for a writer (it may be `withSession`'s).
    func withReadSession<R: Sendable>(_ body: @Sendable @escaping (any SQLDatabase) async throws -> R) async throws -> R
    /// The statement that starts a write transaction.
    var beginTransactionSQL: String { get }
    /// The statement that starts a read-only transaction: one snapshot, no write lock.
    var beginReadTransactionSQL: String { get }
    /// Statements that hold and release a lock across instances while migrating, if the database needs one.
    var migrationLock: (acquire: String, release: String)? { get }
    /// Runs `body` in a write transaction, committed before this returns; nil: the store runs its own
    /// BEGIN/COMMIT per call on a session.
    var groupCommit: GroupCommit? { get }
    /// The statement, run inside a transaction that revoked something, that announces the revocation to every
    /// instance once it commits; nil where the database cannot announce (SQLite: other processes poll).
    var announceRevocationSQL: String? { get }
    /// Runs `body` with `readVersion`, which runs `query` on a connection kept for following revocations, while every
    /// announcement of a committed revocation (see `announceRevocationSQL`) calls `onAnnouncement` at once.
    ///
    /// Throws when announcements may have been lost (their connection closed, or a read on it hung for longer than
    /// `readTimeout`, in which case the connection is closed); `body`'s reads then fail too. Returns when `body` does.
    func followRevocations(
        query: @escaping @Sendable (any SQLDatabase) async throws -> Int64,
        readTimeout: Duration,
        onAnnouncement: @escaping @Sendable () -> Void,
        body: @escaping @Sendable (_ readVersion: @escaping @Sendable () async throws -> Int64) async throws -> Void
    ) async throws
    func close() async throws
}

import NIOConcurrencyHelpers
import SQLKit

/// Write transactions that arrive together share one database transaction and one commit (one fsync), SQLite's
/// group commit (issue 17).
///
/// Each caller's body runs inside its own `SAVEPOINT`: a body that throws is rolled back to its savepoint alone and
/// its caller gets the error; the others go on. Every caller resumes only after the `COMMIT` that holds its write,
/// so nothing a client was told is lost; if that `COMMIT` (or the transaction) fails, every caller of the batch gets
/// the failure and nothing of the batch is kept.
///
/// Guarantees: bodies run one after another on the one connection, in arrival order, each seeing the writes of
/// those before it (the audit chain's head moves through the batch); at most `maximumBatch` bodies share a commit.
/// A body must let every database error propagate: one that catches an error and carries on could go on writing
/// after SQLite rolled the whole transaction back (a full disk), outside any transaction.
final class GroupCommit: Sendable {
    struct Job: Sendable {
        let body: @Sendable (any SQLDatabase) async throws -> any Sendable
        let continuation: CheckedContinuation<any Sendable, any Error>
    }

    private let state = NIOLockedValueBox<(pending: [Job], leading: Bool)>(([], false))
    private let begin: String
    private let maximumBatch: Int
    /// Runs a closure with the writer connection, one at a time (the backend's gate).
    private let session: @Sendable (@Sendable @escaping (any SQLDatabase) async throws -> Void) async throws -> Void

    init(
        begin: String, maximumBatch: Int = 64,
        session: @escaping @Sendable (@Sendable @escaping (any SQLDatabase) async throws -> Void) async throws -> Void
    ) {
        self.begin = begin
        self.maximumBatch = maximumBatch
        self.session = session
    }

    /// Runs `body` in the next group transaction and returns its result once that transaction committed.
    func run<R: Sendable>(_ body: @Sendable @escaping (any SQLDatabase) async throws -> R) async throws -> R {
        let result = try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<any Sendable, any Error>) in
            let job = Job(body: { db in try await body(db) }, continuation: continuation)
            let lead = state.withLockedValue { state -> Bool in
                state.pending.append(job)
                if state.leading { return false }
                state.leading = true
                return true
            }
            if lead { Task { await self.lead() } }
        }
        guard let typed = result as? R else { throw StoreError(.databaseUnavailable, "a group commit result was lost") }
        return typed
    }

    /// Takes batches until none is waiting: each batch is one transaction.
    private func lead() async {
        while true {
            let batch = state.withLockedValue { state -> [Job] in
                let batch = Array(state.pending.prefix(maximumBatch))
                state.pending.removeFirst(batch.count)
                if batch.isEmpty { state.leading = false }
                return batch
            }
            if batch.isEmpty { return }
            await commit(batch)
        }
    }

    private func commit(_ batch: [Job]) async {
        let outcomes = NIOLockedValueBox<[Result<any Sendable, any Error>]>([])
        let begin = self.begin
        do {
            try await session { db in
                try await db.raw(SQLQueryString(begin)).run()
                do {
                    for job in batch {
                        try await db.raw("SAVEPOINT latchkey_group").run()
                        do {
                            let value = try await job.body(db)
                            try await db.raw("RELEASE latchkey_group").run()
                            outcomes.withLockedValue { $0.append(.success(value)) }
                        } catch {
                            // Only this body's writes go; if even that fails, the whole transaction is in doubt.
                            try await db.raw("ROLLBACK TO latchkey_group").run()
                            try await db.raw("RELEASE latchkey_group").run()
                            outcomes.withLockedValue { $0.append(.failure(error)) }
                        }
                    }
                    try await db.raw("COMMIT").run()
                } catch {
                    try? await db.raw("ROLLBACK").run()
                    throw error
                }
            }
        } catch {
            // A refused body wrote nothing: its caller gets its refusal, the others the batch's failure.
            let finished = outcomes.withLockedValue { $0 }
            for (index, job) in batch.enumerated() {
                if index < finished.count, case .failure(let refusal as StoreError) = finished[index] {
                    job.continuation.resume(throwing: refusal)
                } else {
                    job.continuation.resume(throwing: error)
                }
            }
            return
        }
        for (job, outcome) in zip(batch, outcomes.withLockedValue { $0 }) {
            job.continuation.resume(with: outcome)
        }
    }
}

import Foundation
import LatchkeyStore
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

/// Batches `last_seen_at` updates: requests only touch memory; a flush writes each device's latest time once.
///
/// Guarantees: no database write and no actor hop happen per request (a short lock); times are flushed every
/// `interval` and at shutdown.
public actor LastSeenRecorder: Service {
    let store: any LatchkeyStore
    let interval: Duration
    let logger: Logger
    private let pending = NIOLockedValueBox<[String: Date]>([:])

    public init(store: any LatchkeyStore, interval: Duration = .seconds(5), logger: Logger) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    nonisolated func saw(_ deviceID: String, at time: Date) {
        pending.withLockedValue { $0[deviceID] = time }
    }

    /// Writes pending times now.
    public func flush() async {
        let batch = pending.withLockedValue { pending in
            defer { pending = [:] }
            return pending
        }
        guard !batch.isEmpty else { return }
        do {
            try await store.recordLastSeen(batch)
        } catch {
            logger.warning("could not record last-seen times", metadata: ["devices": "\(batch.count)"])
        }
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            try? await cancelWhenGracefulShutdown { [interval] in try await Task.sleep(for: interval) }
            await flush()
        }
        await flush()
    }
}

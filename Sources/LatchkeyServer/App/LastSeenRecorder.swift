import Foundation
import LatchkeyStore
import Logging
import ServiceLifecycle

/// Batches `last_seen_at` updates: requests only touch memory; a flush writes each device's latest time once.
///
/// Guarantees: no database write happens per request; times are flushed every `interval` and at shutdown.
public actor LastSeenRecorder: Service {
    let store: any LatchkeyStore
    let interval: Duration
    let logger: Logger
    private var pending: [String: Date] = [:]

    public init(store: any LatchkeyStore, interval: Duration = .seconds(5), logger: Logger) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    func saw(_ deviceID: String, at time: Date) {
        pending[deviceID] = time
    }

    /// Writes pending times now.
    public func flush() async {
        guard !pending.isEmpty else { return }
        let batch = pending
        pending = [:]
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

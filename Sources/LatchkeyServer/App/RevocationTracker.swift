import Foundation
import LatchkeyStore
import Logging
import NIOCore
import ServiceLifecycle

/// Follows the store's revocations for ``DeviceSessions``, so a revocation by another instance or by
/// `latchkey device revoke` reaches this instance's memory:
/// - PostgreSQL announces each committed revocation (`LISTEN/NOTIFY`), which invalidates memory as soon as it
///   arrives;
/// - a catch-up read of the revocation version every `interval` (100 ms), on the same connection, is the safety net
///   (and SQLite's only way: it announces nothing); each successful read renews the sessions' lease;
/// - when announcements may have been lost (the listening connection closed, or a read on it hung for
///   `readTimeout`), memory stops being used at once, and every request checks the store until the tracker has
///   listened again and read the version after that.
public actor RevocationTracker: Service {
    let store: any LatchkeyStore
    let sessions: DeviceSessions
    let interval: Duration
    let readTimeout: Duration
    let logger: Logger
    private var version: Int64?

    public init(
        store: any LatchkeyStore, sessions: DeviceSessions, interval: Duration = .milliseconds(100),
        readTimeout: Duration = .seconds(2), logger: Logger
    ) {
        self.store = store
        self.sessions = sessions
        self.interval = interval
        self.readTimeout = readTimeout
        self.logger = logger
    }

    /// One catch-up read: reads the version and updates the sessions.
    func poll(_ readVersion: @Sendable () async throws -> Int64) async {
        let startedAt = NIODeadline.now()
        do {
            let current = try await readVersion()
            if version == nil {
                logger.info("revocation tracking is current; identities are served from memory on open connections")
            }
            sessions.pollSucceeded(startedAt: startedAt, changed: version != nil && version != current)
            version = current
        } catch {
            lost("the store cannot be read")
        }
    }

    private func lost(_ why: String) {
        sessions.stopTracking()
        if version != nil {
            logger.warning("revocation tracking stopped (\(why)); checking the store per request")
        }
        version = nil
    }

    public func run() async throws {
        let sessions = self.sessions
        var retryDelay = interval
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await cancelWhenGracefulShutdown { [store, interval, readTimeout] in
                    try await store.followRevocations(
                        readTimeout: readTimeout, onAnnouncement: { sessions.invalidateAll() }
                    ) { readVersion in
                        while !Task.isCancelled {
                            await self.poll(readVersion)
                            try await Task.sleep(for: interval)
                        }
                    }
                }
            } catch {
                // Reconnections back off (up to 5 s) while the database stays away; memory is not used meanwhile.
                retryDelay = version != nil ? interval : min(retryDelay * 2, .seconds(5))
                if !Task.isShuttingDownGracefully && !Task.isCancelled { lost("revocation announcements were lost") }
            }
            try? await cancelWhenGracefulShutdown { [retryDelay] in try await Task.sleep(for: retryDelay) }
        }
        sessions.stopTracking()
    }
}

import Foundation
import LatchkeyStore
import Logging
import NIOCore
import ServiceLifecycle

/// Polls the store's revocation version every `interval` (100 ms) and tells ``DeviceSessions`` when it moved, so a
/// revocation by another instance or by `latchkey device revoke` reaches this instance's memory within about one
/// interval. Each successful read renews the sessions' lease; a read that fails or hangs lets it lapse, and the
/// sessions stop serving from memory.
public actor RevocationTracker: Service {
    let store: any LatchkeyStore
    let sessions: DeviceSessions
    let interval: Duration
    let logger: Logger
    private var version: Int64?

    public init(store: any LatchkeyStore, sessions: DeviceSessions, interval: Duration = .milliseconds(100), logger: Logger)
    {
        self.store = store
        self.sessions = sessions
        self.interval = interval
        self.logger = logger
    }

    /// One poll: reads the version and updates the sessions.
    func poll() async {
        let startedAt = NIODeadline.now()
        do {
            let current = try await store.revocationVersion()
            if version == nil {
                logger.info("revocation tracking is current; identities are served from memory on open connections")
            }
            sessions.pollSucceeded(startedAt: startedAt, changed: version != nil && version != current)
            version = current
        } catch {
            if version != nil {
                logger.warning("revocation tracking stopped (the store cannot be read); checking the store per request")
            }
            sessions.stopTracking()
            version = nil
        }
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await poll()
            try? await cancelWhenGracefulShutdown { [interval] in try await Task.sleep(for: interval) }
        }
        sessions.stopTracking()
    }
}

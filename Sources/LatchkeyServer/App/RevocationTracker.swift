import Foundation
import LatchkeyStore
import Logging
import ServiceLifecycle

/// Polls the store's revocation version every `interval` (100 ms) and tells ``DeviceSessions`` when it moved, so a
/// revocation by another instance or by `latchkey device revoke` reaches this instance's memory within about one
/// interval; while the store cannot be read, the sessions stop serving from memory.
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
        do {
            let current = try await store.revocationVersion()
            if let version, version != current { sessions.invalidateAll() }
            version = current
            if !sessions.isTracking {
                sessions.setTracking(true)
                logger.info("revocation tracking is current; identities are served from memory on open connections")
            }
        } catch {
            if sessions.isTracking {
                logger.warning("revocation tracking stopped (the store cannot be read); checking the store per request")
            }
            sessions.setTracking(false)
            version = nil
        }
    }

    public func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await poll()
            try? await cancelWhenGracefulShutdown { [interval] in try await Task.sleep(for: interval) }
        }
        sessions.setTracking(false)
    }
}

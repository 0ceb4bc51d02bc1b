import Foundation
import NIOConcurrencyHelpers
import NIOCore

/// The verified device of each open mutual-TLS connection, so a keep-alive request is answered from memory instead
/// of the store (issue 17).
///
/// How it learns of change, and what it does when it cannot (stale never means open):
/// - every entry records the revocation *generation* it was checked at; any revocation, anywhere, moves the
///   generation and so sends every connection's next request back to the store once;
/// - a revocation through this instance moves it before its response is sent (``revoked(deviceID:except:)``) and
///   closes the device's other open connections;
/// - a revocation through another instance or the CLI moves the store's revocation version; ``RevocationTracker``
///   moves the generation as soon as PostgreSQL announces it (`LISTEN/NOTIFY`), and when its catch-up read (every
///   100 ms; SQLite's only way) sees the version change;
/// - each successful poll grants a *lease* of `lease` (200 ms) from the moment the poll started; memory is used only
///   within the lease, so a poll that fails, or hangs (a partitioned database, a full pool), stops memory being used
///   within 200 ms of the last read that could have seen a revocation; from then on every request checks the store,
///   as without the cache, until a poll succeeds again (and everything held is checked once more);
/// - an entry is used for at most `maximumAge` (5 s) after its check, so a change made behind Latchkey's back (SQL
///   typed by hand, a user disabled by another tool) that does not move the revocation version still reaches open
///   connections within that time;
/// - a new connection has no entry, so its first request always checks the store; an entry expires with its
///   certificate's `notAfter`.
///
/// Guarantees: an entry is held weakly by its channel and matched by identity, so it never serves another
/// connection; at most `capacity` entries are kept.
public final class DeviceSessions: Sendable {
    struct Entry {
        weak var channel: (any Channel)?
        let device: VerifiedDevice
        let generation: UInt64
        let checkedAt: NIODeadline
    }

    struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var generation: UInt64 = 0
        /// Memory may be used until then (monotonic); `.distantPast` until the first successful poll.
        var leaseEnd = NIODeadline.distantPast
    }

    let capacity: Int
    let lease: TimeAmount
    let maximumAge: TimeAmount
    private let state = NIOLockedValueBox(State())

    public init(capacity: Int = 100_000, lease: TimeAmount = .milliseconds(200), maximumAge: TimeAmount = .seconds(5)) {
        self.capacity = capacity
        self.lease = lease
        self.maximumAge = maximumAge
    }

    /// The generation to record with a device checked from now on: read it *before* asking the store, so a
    /// revocation that lands during the check leaves the new entry already stale.
    var generation: UInt64 { state.withLockedValue { $0.generation } }

    /// The device verified earlier on this connection, if nothing was revoked since, change tracking is current and
    /// its certificate has not expired at `now`.
    func device(on channel: any Channel, now: Date) -> VerifiedDevice? {
        let instant = NIODeadline.now()
        return state.withLockedValue { state in
            guard instant < state.leaseEnd, let entry = state.entries[ObjectIdentifier(channel)],
                entry.channel === channel, entry.generation == state.generation,
                instant < entry.checkedAt + maximumAge, entry.device.identity.notAfter >= now
            else { return nil }
            return entry.device
        }
    }

    /// Remembers the device verified on a connection at `generation` (read before the check).
    func remember(_ device: VerifiedDevice, on channel: any Channel, generation: UInt64) {
        let checkedAt = NIODeadline.now()
        state.withLockedValue { state in
            if state.entries.count >= capacity { state.entries = state.entries.filter { $0.value.channel != nil } }
            if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            state.entries[ObjectIdentifier(channel)] = Entry(
                channel: channel, device: device, generation: generation, checkedAt: checkedAt)
        }
    }

    /// Something was revoked somewhere: every connection checks the store again on its next request.
    func invalidateAll() {
        state.withLockedValue { $0.generation &+= 1 }
    }

    /// A device was revoked through this instance: invalidates every entry and closes the device's open connections
    /// but `current` (whose request is still being answered; its entry is dropped, so its next request is refused).
    func revoked(deviceID: String, except current: (any Channel)?) {
        let channels: [any Channel] = state.withLockedValue { state in
            state.generation &+= 1
            var closing: [any Channel] = []
            for (key, entry) in state.entries where entry.device.identity.deviceID == deviceID {
                state.entries[key] = nil
                if let channel = entry.channel, channel !== current { closing.append(channel) }
            }
            return closing
        }
        for channel in channels { channel.close(promise: nil) }
    }

    /// A poll that started at `startedAt` read the store's revocation version: a change (or the first read after a
    /// gap) invalidates everything held, and memory may be used until `startedAt + lease`.
    func pollSucceeded(startedAt: NIODeadline, changed: Bool) {
        state.withLockedValue { state in
            if changed || state.leaseEnd <= startedAt { state.generation &+= 1 }
            state.leaseEnd = max(state.leaseEnd, startedAt + lease)
        }
    }

    /// Whether memory may be used now (a poll succeeded within the lease).
    var isTracking: Bool {
        let instant = NIODeadline.now()
        return state.withLockedValue { instant < $0.leaseEnd }
    }

    /// Stops using memory at once (the tracker failed to read the store, or is shutting down).
    func stopTracking() {
        state.withLockedValue { $0.leaseEnd = .distantPast }
    }
}

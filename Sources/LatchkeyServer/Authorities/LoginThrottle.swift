import Crypto
import Foundation
import LatchkeyPKI
import LatchkeyStore

/// Limits password guessing per account name, whatever address the guesses come from.
///
/// Guarantees: every attempt is counted in the store *before* its password is checked (an atomic reservation), so
/// guesses sent together cannot all slip under the limit. After `backoffAfter` failures attempts are refused (429 with
/// `Retry-After`) until a wait that doubles with every further failure (from one minute, at most one hour) has passed
/// since the last recorded failure; while attempts beyond the limit are still being checked, others wait too. After
/// `lockAfter` failures the name is locked (423 `account_locked`) until an operator's `latchkey user reset-codes`. A
/// refused attempt gives its reservation back and does not check the password, so refused floods neither test
/// guesses nor push an account towards its lock. Names that do not exist are counted the same way (answers do not
/// reveal which names exist), and names are stored only as MACs. A correct password clears the count. The counters
/// live in the store, so every instance sees the same ones.
struct LoginThrottle: Sendable {
    enum Decision: Equatable {
        case allowed
        case wait(seconds: Int)
        case locked
    }

    let store: any LatchkeyStore
    let key: SymmetricKey
    let backoffAfter: Int
    let lockAfter: Int

    /// The MAC that stands for an account name in the store.
    func nameKey(_ username: String) -> String {
        Hex.lowercase(HMAC<SHA256>.authenticationCode(for: Data(username.lowercased().utf8), using: key))
    }

    /// Reserves this attempt and decides; a refused attempt has already given its reservation back.
    func reserve(username: String, now: Date) async throws -> Decision {
        let name = nameKey(username)
        let state = try await store.reserveLoginAttempt(key: name, now: now)
        let decision = Self.decision(state, now: now, backoffAfter: backoffAfter, lockAfter: lockAfter)
        if decision != .allowed { try await store.releaseLoginAttempt(key: name) }
        return decision
    }

    /// The decision for an attempt, given the failures recorded and the other attempts still being checked (counted
    /// as if they failed, so a burst cannot slip past the limit; only recorded failures lock).
    static func decision(_ state: LoginFailures, now: Date, backoffAfter: Int, lockAfter: Int) -> Decision {
        if state.count >= lockAfter { return .locked }
        let attempts = state.count + state.pending
        guard attempts >= backoffAfter else { return .allowed }
        let wait = backoff(failures: attempts, backoffAfter: backoffAfter)
        // Attempts still in flight with no failure recorded yet: wait the full time from now.
        let since = state.pending > 0 ? now : (state.lastFailure ?? now)
        let remaining = since.addingTimeInterval(wait).timeIntervalSince(now)
        return remaining > 0 ? .wait(seconds: Int(remaining.rounded(.up))) : .allowed
    }

    /// One minute at `backoffAfter` failures, doubling with each further failure, at most one hour.
    static func backoff(failures: Int, backoffAfter: Int) -> TimeInterval {
        let doublings = min(max(0, failures - backoffAfter), 6)
        return min(60 * Double(1 << doublings), 3600)
    }

    /// Records that the reserved attempt's password was wrong; returns the failures with this one.
    func recordFailure(username: String, now: Date) async throws -> Int {
        try await store.recordLoginFailure(key: nameKey(username), now: now).count
    }

    func clear(username: String) async throws {
        try await store.clearLoginFailures(key: nameKey(username))
    }
}

import Crypto
import Foundation
import LatchkeyPKI
import LatchkeyStore

/// Limits password guessing per account name, whatever address the guesses come from.
///
/// Guarantees: after `backoffAfter` consecutive failed passwords for a name, attempts are refused (429 with
/// `Retry-After`) until a wait that doubles with every further failure (from one minute, at most one hour) has
/// passed; after `lockAfter` failures the name is locked (423 `account_locked`) until an operator's
/// `latchkey user reset-codes`. Refused attempts do not check the password, so a guess made while waiting is never
/// tried. Names that do not exist are counted the same way (answers do not reveal which names exist), and names are
/// stored only as MACs. A correct password clears the count. The counters live in the store, so every instance sees
/// the same ones.
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

    func decide(username: String, now: Date) async throws -> Decision {
        guard let failures = try await store.loginFailures(key: nameKey(username)) else { return .allowed }
        return Self.decision(failures, now: now, backoffAfter: backoffAfter, lockAfter: lockAfter)
    }

    static func decision(_ failures: LoginFailures, now: Date, backoffAfter: Int, lockAfter: Int) -> Decision {
        if failures.count >= lockAfter { return .locked }
        guard failures.count >= backoffAfter else { return .allowed }
        let wait = backoff(failures: failures.count, backoffAfter: backoffAfter)
        let remaining = failures.lastFailure.addingTimeInterval(wait).timeIntervalSince(now)
        return remaining > 0 ? .wait(seconds: Int(remaining.rounded(.up))) : .allowed
    }

    /// One minute at `backoffAfter` failures, doubling with each further failure, at most one hour.
    static func backoff(failures: Int, backoffAfter: Int) -> TimeInterval {
        let doublings = min(max(0, failures - backoffAfter), 6)
        return min(60 * Double(1 << doublings), 3600)
    }

    func recordFailure(username: String, now: Date) async throws -> LoginFailures {
        try await store.recordLoginFailure(key: nameKey(username), now: now)
    }

    func clear(username: String) async throws {
        try await store.clearLoginFailures(key: nameKey(username))
    }
}

/// A refusal or failure of the store, with a stable machine code and a message free of secrets.
///
/// Messages never contain the database URL's password, code hashes or password hashes.
public struct StoreError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case usernameTaken = "username_taken"
        case notFound = "not_found"
        case enrollmentUsed = "enrollment_used"
        case enrollmentExpired = "enrollment_expired"
        case enrollmentLocked = "enrollment_locked"
        case deviceRevoked = "device_revoked"
        case databaseTooNew = "database_too_new"
        case invalidDatabaseURL = "invalid_database_url"
        case databaseUnavailable = "database_unavailable"
        case conflict = "conflict"
        case accountNotOwned = "account_not_owned"
        case currencyMismatch = "currency_mismatch"
        case insufficientFunds = "insufficient_funds"
        case accountNotFound = "account_not_found"
        case keyInUse = "csr_key_in_use"
        case idempotencyKeyReused = "idempotency_key_reused"
        case attestationReused = "attestation_reused"
        /// A ``ReplayGuard``'s nonce was consumed before.
        case nonceReused = "nonce_reused"
        /// A ``ReplayGuard``'s assertion counter is not greater than the device's stored one.
        case assertionCounterStale = "assertion_counter_stale"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    /// A refusal of the request (its transaction could commit), not a failure of the database.
    public var isRefusal: Bool { code != .databaseUnavailable && code != .conflict }

    public var description: String { "\(code.rawValue): \(message)" }
}

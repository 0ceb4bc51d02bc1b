/// Every error code the HTTP API sends (SPEC §4, §5 and the operations of Latchkey): a closed set. A code never
/// changes meaning once published; the server's one table from code to HTTP status is `ErrorCode.httpStatus` in
/// `LatchkeyServer`, and `docs/openapi.yaml` lists the same codes as an enum (a test checks both directions).
public enum ErrorCode: String, Codable, Sendable, CaseIterable {
    // Requests in general
    case badRequest = "bad_request"
    case notFound = "not_found"
    case methodNotAllowed = "method_not_allowed"
    case bodyTooLarge = "body_too_large"
    case rateLimited = "rate_limited"
    case serviceUnavailable = "service_unavailable"
    case internalError = "internal_error"
    // Enrollment
    case invalidCredentials = "invalid_credentials"
    case accountLocked = "account_locked"
    case oobDeliveryFailed = "oob_delivery_failed"
    case codeInvalid = "code_invalid"
    case enrollmentExpired = "enrollment_expired"
    case enrollmentLocked = "enrollment_locked"
    case enrollmentUsed = "enrollment_used"
    case csrInvalid = "csr_invalid"
    case csrSignatureInvalid = "csr_signature_invalid"
    case csrKeyUnsupported = "csr_key_unsupported"
    case csrKeyInUse = "csr_key_in_use"
    // Attestation (SPEC §6)
    case attestationInvalid = "attestation_invalid"
    case attestationUnsupported = "attestation_unsupported"
    case attestationRequired = "attestation_required"
    case attestationReused = "attestation_reused"
    case attestationUnavailable = "attestation_unavailable"
    case assertionInvalid = "assertion_invalid"
    // Device identity
    case certificateUnknown = "certificate_unknown"
    case certificateRevoked = "certificate_revoked"
    case certificateExpired = "certificate_expired"
    case deviceRevoked = "device_revoked"
    // Request signatures
    case signatureMissing = "signature_missing"
    case signatureInvalid = "signature_invalid"
    case nonceInvalid = "nonce_invalid"
    case nonceReused = "nonce_reused"
    case digestMismatch = "digest_mismatch"
    // Demo banking
    case accountNotOwned = "account_not_owned"
    case accountNotFound = "account_not_found"
    case currencyMismatch = "currency_mismatch"
    case insufficientFunds = "insufficient_funds"
    case ibanInvalid = "iban_invalid"
    case idempotencyKeyReused = "idempotency_key_reused"
}

/// The JSON body of every error response: `{"error": CODE, "message": TEXT}` (SPEC §4).
public struct ErrorResponse: Codable, Sendable, Equatable {
    public let error: String
    public let message: String

    public init(error: String, message: String) {
        self.error = error
        self.message = message
    }

    /// The code as a case of the closed set, or nil for a code this version does not know.
    public var code: ErrorCode? { ErrorCode(rawValue: error) }
}

/// A refusal of the service: a stable code and a message for the client, free of secrets. The authorities throw
/// these; only the HTTP edge turns them into a status and a JSON body.
public struct Refusal: Error, Sendable, Equatable, CustomStringConvertible {
    public let code: ErrorCode
    public let message: String
    /// Seconds after which a repeat may succeed (`Retry-After`), for limits and an unavailable store.
    public let retryAfter: Int?

    public init(_ code: ErrorCode, _ message: String, retryAfter: Int? = nil) {
        self.code = code
        self.message = message
        self.retryAfter = retryAfter
    }

    public var description: String { "\(code.rawValue): \(message)" }

    public static func badRequest(_ message: String) -> Refusal { Refusal(.badRequest, message) }
    public static func notFound(_ message: String = "no such resource") -> Refusal { Refusal(.notFound, message) }
    public static let internalError = Refusal(.internalError, "the server could not complete the request")
    public static let serviceUnavailable = Refusal(
        .serviceUnavailable, "the service is briefly unavailable; retry shortly", retryAfter: 5)
    public static let bodyTooLarge = Refusal(.bodyTooLarge, "the request body is larger than 1 MiB")
}

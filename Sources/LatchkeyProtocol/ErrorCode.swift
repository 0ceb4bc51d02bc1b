/// The stable error codes of the HTTP API (SPEC §4 and §5). A code never changes meaning once published.
public enum ErrorCode: String, Codable, Sendable, CaseIterable {
    case invalidCredentials = "invalid_credentials"
    case csrInvalid = "csr_invalid"
    case csrSignatureInvalid = "csr_signature_invalid"
    case csrKeyUnsupported = "csr_key_unsupported"
    case codeInvalid = "code_invalid"
    case enrollmentExpired = "enrollment_expired"
    case enrollmentLocked = "enrollment_locked"
    case enrollmentUsed = "enrollment_used"
    case certificateUnknown = "certificate_unknown"
    case certificateRevoked = "certificate_revoked"
    case certificateExpired = "certificate_expired"
    case deviceRevoked = "device_revoked"
    case rateLimited = "rate_limited"
    case bodyTooLarge = "body_too_large"
    case signatureMissing = "signature_missing"
    case signatureInvalid = "signature_invalid"
    case nonceInvalid = "nonce_invalid"
    case nonceReused = "nonce_reused"
    case digestMismatch = "digest_mismatch"
    case csrKeyInUse = "csr_key_in_use"
    case accountNotFound = "account_not_found"
    case ibanInvalid = "iban_invalid"
    case idempotencyKeyReused = "idempotency_key_reused"
    case serviceUnavailable = "service_unavailable"
}

/// The JSON body of every error response: `{"error": CODE, "message": TEXT}` (SPEC §4).
public struct ErrorResponse: Codable, Sendable, Equatable {
    public let error: String
    public let message: String

    public init(error: String, message: String) {
        self.error = error
        self.message = message
    }
}

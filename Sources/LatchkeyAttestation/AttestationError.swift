/// Why an attestation or an assertion was refused: a stable code (the API's error code) and the check that failed.
///
/// `check` names the verification step ("chain", "nonce", "app_id", ...) so an operator and a test can tell which one
/// refused; `reason` says why, in words, and never carries secret material.
public struct AttestationError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        /// The attestation was checked and failed (API `attestation_invalid`).
        case invalid = "attestation_invalid"
        /// An attestation format this server does not know (API `attestation_unsupported`).
        case unsupported = "attestation_unsupported"
        /// Trust anchors or the revocation list are missing or stale: nothing can be accepted (fail closed).
        case unavailable = "attestation_unavailable"
        /// An App Attest assertion failed (API `assertion_invalid`).
        case assertionInvalid = "assertion_invalid"
    }

    public let code: Code
    public let check: String
    public let reason: String

    public init(_ code: Code, check: String, _ reason: String) {
        self.code = code
        self.check = check
        self.reason = reason
    }

    static func invalid(_ check: String, _ reason: String) -> AttestationError {
        AttestationError(.invalid, check: check, reason)
    }

    /// "check: reason", the message the API and the CLI show.
    public var message: String { "\(check): \(reason)" }
    public var description: String { "\(code.rawValue): \(message)" }
}

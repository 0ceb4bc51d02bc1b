/// A refusal or failure of the PKI core, with a stable machine code and a human message.
///
/// The code is part of the external contract (SPEC §4): it never changes for a given cause. The message says what
/// was wrong in words a developer can act on, and never carries key material.
public struct PKIError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The stable machine codes the PKI core produces.
    public enum Code: String, Sendable, CaseIterable {
        case csrInvalid = "csr_invalid"
        case csrSignatureInvalid = "csr_signature_invalid"
        case csrKeyUnsupported = "csr_key_unsupported"
        case certificateUntrusted = "certificate_untrusted"
        case certificateExpired = "certificate_expired"
        case certificateNotYetValid = "certificate_not_yet_valid"
        case certificateNotForClientAuth = "certificate_not_client_auth"
        case certificateIdentityMissing = "certificate_identity_missing"
        case caAlreadyExists = "ca_exists"
        case caMissing = "ca_missing"
        case caInvalid = "ca_invalid"
        case keyFileInsecure = "key_file_insecure"
        case fileError = "file_error"
        case invalidArgument = "invalid_argument"
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

import LatchkeyProtocol

/// A failure of the client SDK, typed so an app can react: the server's refusal with its code, a pin or trust
/// failure, or a local problem.
public enum ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The server answered with an error body (SPEC §4).
    case server(status: Int, code: String, message: String)
    /// The server's certificate chain does not contain a pinned key.
    case pinMismatch(host: String, expected: [String], seen: [String])
    /// The pin set passed its expiry date: pinning fails closed.
    case pinSetExpired(host: String)
    /// The server's chain is not valid for this host (expired, wrong CA, wrong name).
    case untrustedServer(host: String, reason: String)
    /// The device key file can be read by others, or is missing or unreadable.
    case keyFile(String)
    /// This device has not enrolled yet (no certificate in the device directory).
    case notEnrolled
    /// The connection failed or timed out.
    case transport(String)
    /// Bad input or configuration.
    case invalid(String)

    /// The server's refusal code as a case of the closed set (nil for other failures, or a code this SDK does not
    /// know yet).
    public var serverCode: ErrorCode? {
        guard case .server(_, let code, _) = self else { return nil }
        return ErrorCode(rawValue: code)
    }

    public var description: String {
        switch self {
        case .server(let status, let code, let message): return "server refused (\(status) \(code)): \(message)"
        case .pinMismatch(let host, let expected, let seen):
            return
                "pin mismatch for \(host): expected one of \(expected.joined(separator: ", ")); saw \(seen.joined(separator: ", "))"
        case .pinSetExpired(let host):
            return "the pin set for \(host) has expired; update the app's pins (pinning fails closed)"
        case .untrustedServer(let host, let reason): return "the server \(host) is not trusted: \(reason)"
        case .keyFile(let reason): return reason
        case .notEnrolled: return "this device is not enrolled (run `latchkey client enroll` first)"
        case .transport(let reason): return "connection failed: \(reason)"
        case .invalid(let reason): return reason
        }
    }
}

import Foundation

/// A message to a user over the second channel: a one-time code, or a notice that a device was added.
public struct OutOfBandMessage: Sendable, Equatable {
    public enum Kind: String, Sendable {
        case enrollmentCode = "enrollment_code"
        case deviceAdded = "device_added"
        case securityNotice = "security_notice"
    }

    public let kind: Kind
    /// The destination on file (an E.164 phone number).
    public let to: String
    /// The one-time code, for `enrollmentCode` messages.
    public let code: String?
    /// The text a person reads.
    public let body: String
    public let time: Date
}

/// Delivers out-of-band messages. Each sink says whether a message was accepted; a refusal is an error.
public protocol OutOfBandSink: Sendable {
    /// The channel name reported to clients (`sms`, `webhook`, `outbox`).
    var channel: String { get }
    /// Delivers or throws ``OutOfBandError``; never logs the code.
    func deliver(_ message: OutOfBandMessage) async throws
}

/// A sink's failure: the gateway refused the message or could not be reached.
public struct OutOfBandError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }

    public init(_ message: String) { self.message = message }
}

/// Builds the sink named by `--oob`: `outbox` (default), `webhook:URL`, or `twilio` (settings from the environment).
public enum OutOfBandSinkFactory {
    public static func make(
        _ spec: String, outboxPath: String, environment: [String: String] = ProcessInfo.processInfo.environment,
        httpClient: OutOfBandHTTPClient
    ) throws -> any OutOfBandSink {
        if spec == "outbox" { return OutboxSink(path: outboxPath) }
        if spec.hasPrefix("webhook:") {
            let url = String(spec.dropFirst("webhook:".count))
            guard let parsed = URL(string: url), parsed.scheme == "http" || parsed.scheme == "https", parsed.host != nil
            else {
                throw OutOfBandError("--oob webhook:URL needs an http or https URL")
            }
            guard let secret = environment["LATCHKEY_WEBHOOK_SECRET"], secret.utf8.count >= 16 else {
                throw OutOfBandError(
                    "the webhook sink needs LATCHKEY_WEBHOOK_SECRET (16 characters or more) in the environment")
            }
            return WebhookSink(url: url, secret: secret, client: httpClient)
        }
        if spec == "twilio" {
            return try TwilioSink(environment: environment, client: httpClient)
        }
        throw OutOfBandError("--oob must be outbox, webhook:URL or twilio")
    }
}

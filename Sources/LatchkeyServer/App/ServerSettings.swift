import Foundation
import LatchkeyPKI

/// How `latchkey serve` runs: addresses, lifetimes and abuse limits. Defaults follow SPEC §1 and NIST SP 800-63B.
public struct ServerSettings: Sendable {
    public var host = "127.0.0.1"
    public var enrollPort = 8443
    public var apiPort = 8444
    /// Device certificate lifetime (`--cert-lifetime`, default 7 days).
    public var certificateLifetime: TimeInterval = IssuancePolicy.defaultLifetime
    /// How long a one-time code is valid (at most 10 minutes).
    public var codeLifetime: TimeInterval = 600
    /// Wrong codes per enrollment before it locks.
    public var maximumCodeAttempts = 5
    /// Wrong codes per account before enrollment is refused until an operator resets it.
    public var maximumAccountCodeFailures = 100
    /// Enrollment starts allowed per hour per account and per client address.
    public var enrollLimitPerAccount = 20
    public var enrollLimitPerAddress = 60
    /// Failed passwords per account name before attempts must wait (doubling from one minute).
    public var passwordBackoffAfter = 5
    /// Failed passwords per account name before enrollment is locked until an operator's reset.
    public var passwordLockAfter = 50
    /// Renewals a device may make per hour.
    public var renewalsPerHour = 10
    /// Seconds a request may take from its head to the end of its body (slow-body defence).
    public var requestTimeoutSeconds: Int64 = 30
    /// Seconds the server waits for in-flight requests on SIGTERM before closing what is left.
    public var shutdownGraceSeconds: Int64 = 10
    /// Gateway mode (`--api-behind-gateway`): the API listener serves plain HTTP to these gateways, which terminate
    /// mutual TLS and pass the client certificate in `gatewayCertificateHeader`. Empty: the API listener is mTLS.
    public var trustedGateways: [AddressRange] = []
    public var gatewayCertificateHeader: String?
    /// Proxies whose connections begin with a PROXY protocol header naming the client (`--proxy-protocol-from`).
    public var proxyProtocolFrom: [AddressRange] = []
    /// How far ahead a CRL's `nextUpdate` is (`--crl-lifetime`).
    public var crlLifetime: TimeInterval = 3600
    /// The metrics listener (`--metrics-port`, plain HTTP): off when nil; 0 picks a free port.
    public var metricsPort: Int?
    public var metricsHost = "127.0.0.1"
    /// Nonce lifetime for signed requests.
    public var nonceLifetime: TimeInterval = 120
    /// bcrypt cost for passwords.
    public var bcryptCost: UInt8 = 11
    /// Seconds an idle connection is kept (also bounds a client that dribbles its headers).
    public var idleTimeoutSeconds: Int64 = 30
    /// Seconds a connection may take to deliver a complete request head, counted from its start (TLS handshake
    /// included) or from the end of the previous response; a slow-loris client is cut off after it.
    public var headerTimeoutSeconds: Int64 = 20
    /// App and device attestation (SPEC §6).
    public var attestation = AttestationSettings()

    public init() {}

    /// The host names the server certificate covers for `host`.
    public var certificateHostnames: [String] {
        var names = ["localhost", "127.0.0.1"]
        if !["0.0.0.0", "::", "localhost", "127.0.0.1"].contains(host) { names.append(host) }
        return names
    }

    /// The host to put in URLs: a wildcard listen address is reached as 127.0.0.1.
    public var urlHost: String {
        if host == "0.0.0.0" || host == "::" { return "127.0.0.1" }
        return host.contains(":") ? "[\(host)]" : host
    }
}

/// Parses durations such as `7d`, `12h`, `30m`, `90s` (or plain seconds).
public enum DurationText {
    public static func seconds(_ text: String) -> TimeInterval? {
        let units: [Character: Double] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        guard let last = text.last else { return nil }
        if let unit = units[last], let value = Double(text.dropLast()), value > 0 { return value * unit }
        if let value = Double(text), value > 0 { return value }
        return nil
    }
}

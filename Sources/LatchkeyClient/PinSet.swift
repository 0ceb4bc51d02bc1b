import Foundation
import LatchkeyPKI
import X509

/// The SPKI pins of one host, fail-closed.
///
/// Guarantees: at least two pins (the current key and a backup, as TrustKit requires). A match is looked for only in
/// certificates the caller has authenticated: the path a chain verifier built (``check(verifiedChain:now:)``), or on
/// first contact the leaf whose key signed the TLS handshake (``check(handshakeLeaf:now:)``). Extra certificates a
/// server merely *sends* can never satisfy a pin: anyone can fetch the real server's certificate and append it
/// (OkHttp's CVE-2016-2402). After `expires`, every chain is refused: unlike TrustKit, whose expired pins fail open
/// (pinning silently stops), Latchkey fails closed, because for a banking app an unpinned connection is the attack.
public struct PinSet: Sendable, Equatable {
    public let host: String
    public let pins: [SPKIPin]
    public let expires: Date?

    public init(host: String, pins: [SPKIPin], expires: Date? = nil) throws {
        guard Set(pins).count >= 2 else {
            throw ClientError.invalid("a pin set needs at least two different pins (the current key and a backup)")
        }
        self.host = host
        self.pins = pins
        self.expires = expires
    }

    public init(host: String, pins: [String], expires: Date? = nil) throws {
        do {
            try self.init(host: host, pins: try pins.map { try SPKIPin($0) }, expires: expires)
        } catch let error as ClientError {
            throw error
        } catch {
            throw ClientError.invalid("a pin must look like sha256/BASE64 (44 characters of base64)")
        }
    }

    /// Checks the chain a verifier built from the server's leaf to a trusted root: one of its certificates must
    /// match a pin. Only a `ValidatedCertificateChain` is accepted, so a list of presented certificates cannot be
    /// passed here by mistake.
    public func check(verifiedChain: ValidatedCertificateChain, now: Date = Date()) throws(ClientError) {
        try match(Array(verifiedChain), now: now)
    }

    /// Checks the leaf that the TLS handshake authenticated (the first certificate the server sent, whose key
    /// signed the handshake), for the first contact, before any CA is known. Nothing else the server sent counts.
    public func check(handshakeLeaf: Certificate, now: Date = Date()) throws(ClientError) {
        try match([handshakeLeaf], now: now)
    }

    private func match(_ certificates: [Certificate], now: Date) throws(ClientError) {
        if let expires, now > expires { throw .pinSetExpired(host: host) }
        let seen = certificates.map { SPKIPin(certificate: $0) }
        guard seen.contains(where: pins.contains) else {
            throw .pinMismatch(host: host, expected: pins.map(\.description), seen: seen.map(\.description))
        }
    }
}

import Foundation
import LatchkeyPKI
import X509

/// The SPKI pins of one host, fail-closed.
///
/// Guarantees: at least two pins (the current key and a backup, as TrustKit requires); a certificate chain matches
/// only if one of its certificates' SubjectPublicKeyInfo hashes to a pin. After `expires`, every chain is refused:
/// unlike TrustKit, whose expired pins fail open (pinning silently stops), Latchkey fails closed, because for a
/// banking app an unpinned connection is the attack.
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

    /// Checks a presented chain against the pins at `now`.
    public func check(_ chain: [Certificate], now: Date = Date()) throws(ClientError) {
        if let expires, now > expires { throw .pinSetExpired(host: host) }
        let seen = chain.map { SPKIPin(certificate: $0) }
        guard seen.contains(where: pins.contains) else {
            throw .pinMismatch(host: host, expected: pins.map(\.description), seen: seen.map(\.description))
        }
    }
}

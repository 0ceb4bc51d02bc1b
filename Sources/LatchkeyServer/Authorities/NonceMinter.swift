import Crypto
import Foundation
import LatchkeyPKI

/// Nonces for signed requests that cost nothing until used (issue 17): a nonce is
/// base64url(version 1 ‖ expiry in seconds, 8 bytes ‖ 16 random bytes ‖ a 16-byte HMAC-SHA256 tag over the device
/// id and those bytes), under a key every instance derives from the issuing CA key. Issuing one writes nothing; the
/// store records a nonce only when a signed request consumes it, unique per value.
///
/// Guarantees: a nonce verifies only for the device it was issued to, only until its expiry, and only if this CA's
/// key made it (the tag is compared in constant time); hoarding nonces takes no storage on the server.
public struct NonceMinter: Sendable {
    static let version: UInt8 = 1
    static let length = 1 + 8 + 16 + 16
    let key: SymmetricKey

    public init(key: SymmetricKey) {
        self.key = key
    }

    /// What checking a nonce says.
    public enum Check: Equatable, Sendable {
        case valid(expiresAt: Date)
        case expired
        case invalid
    }

    /// A new nonce for `deviceID`, valid until `expiresAt` (whole seconds).
    public func mint(deviceID: String, expiresAt: Date) -> String {
        var bytes: [UInt8] = [Self.version]
        let seconds = UInt64(max(0, expiresAt.timeIntervalSince1970.rounded(.down)))
        bytes += withUnsafeBytes(of: seconds.bigEndian, Array.init)
        bytes += EnrollmentAuthority.randomBytes(16)
        bytes += tag(deviceID: deviceID, body: bytes)
        return Self.base64URL(bytes)
    }

    /// Whether `nonce` was made by this key for `deviceID` and has not expired at `now`.
    public func check(_ nonce: String, deviceID: String, now: Date) -> Check {
        // Only the canonical spelling: another string for the same bytes (unused low bits set) would be a second,
        // unconsumed nonce, since the store keys consumption by the string.
        guard nonce.utf8.count <= 64, let bytes = Self.decodeBase64URL(nonce), bytes.count == Self.length,
            bytes[0] == Self.version, Self.base64URL(bytes) == nonce
        else { return .invalid }
        let body = Array(bytes[0..<25])
        guard Self.constantTimeEqual(tag(deviceID: deviceID, body: body), Array(bytes[25..<41])) else {
            return .invalid
        }
        let seconds = body[1..<9].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
        let expiresAt = Date(timeIntervalSince1970: TimeInterval(seconds))
        return expiresAt > now ? .valid(expiresAt: expiresAt) : .expired
    }

    private func tag(deviceID: String, body: [UInt8]) -> [UInt8] {
        Array(HMAC<SHA256>.authenticationCode(for: Self.message(deviceID: deviceID, body: body), using: key).prefix(16))
    }

    static func message(deviceID: String, body: [UInt8]) -> [UInt8] {
        Array("latchkey nonce v1\u{0}".utf8) + Array(deviceID.utf8) + [0] + body
    }

    static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// Unpadded base64url, translated byte by byte (Foundation's `replacingOccurrences` was 4% of a signed request's
    /// time under perf).
    static func base64URL(_ bytes: [UInt8]) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count * 4 / 3 + 4)
        for c in Data(bytes).base64EncodedData() {
            switch c {
            case UInt8(ascii: "+"): out.append(UInt8(ascii: "-"))
            case UInt8(ascii: "/"): out.append(UInt8(ascii: "_"))
            case UInt8(ascii: "="): continue
            default: out.append(c)
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func decodeBase64URL(_ text: String) -> [UInt8]? {
        var standard: [UInt8] = []
        standard.reserveCapacity(text.utf8.count + 3)
        for c in text.utf8 {
            switch c {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"):
                standard.append(c)
            case UInt8(ascii: "-"): standard.append(UInt8(ascii: "+"))
            case UInt8(ascii: "_"): standard.append(UInt8(ascii: "/"))
            default: return nil
            }
        }
        standard += Array(repeating: UInt8(ascii: "="), count: (4 - standard.count % 4) % 4)
        return Data(base64Encoded: Data(standard)).map(Array.init)
    }
}

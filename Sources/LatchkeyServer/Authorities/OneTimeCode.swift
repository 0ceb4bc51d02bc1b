import Crypto
import Foundation
import LatchkeyPKI

/// Makes and checks out-of-band one-time codes (NIST SP 800-63B §5.1.3).
///
/// Guarantees: codes are `digits` decimal digits from the system CSPRNG (uniform, no modulo bias); only an
/// HMAC-SHA256 of the code under a server key, bound to the enrollment id, is ever stored; comparison is constant
/// time. The key is derived (HKDF) from the issuing CA key, so every instance that shares the CA shares it.
struct OneTimeCode: Sendable {
    static let digits = 8
    private let key: SymmetricKey

    init(key: SymmetricKey) {
        self.key = key
    }

    /// The key derived from the issuing CA's private key.
    init(authority: CertificateAuthority) throws {
        let material = try authority.issuingKey.serializeAsPEM().derBytes
        self.key = HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: material), info: Data("latchkey one-time code v1".utf8),
            outputByteCount: 32)
    }

    /// A new code.
    func generate() -> String {
        var generator = SystemRandomNumberGenerator()
        return String((0..<Self.digits).map { _ in Character(String(UInt8.random(in: 0...9, using: &generator))) })
    }

    /// The stored form of a code for one enrollment, as lowercase hex.
    func hash(code: String, enrollmentID: String) -> String {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(enrollmentID):\(code)".utf8), using: key)
        return Hex.lowercase(mac)
    }

    /// Whether `code` matches `storedHash`, compared in constant time.
    func matches(code: String, enrollmentID: String, storedHash: String) -> Bool {
        guard let stored = Hex.bytes(storedHash) else { return false }
        return HMAC<SHA256>.isValidAuthenticationCode(
            stored, authenticating: Data("\(enrollmentID):\(code)".utf8), using: key)
    }
}

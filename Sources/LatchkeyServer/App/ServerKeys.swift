import Crypto
import Foundation
import LatchkeyPKI

/// Keys the server derives (HKDF-SHA256) from the issuing CA's private key, which lives in the data directory and
/// never in the database: every instance that shares the CA shares them, and someone who can only write to the
/// database cannot compute them.
public enum ServerKeys {
    /// The key of the audit chain's HMAC.
    public static func audit(_ authority: CertificateAuthority) throws -> SymmetricKey {
        try derive(authority, "latchkey audit chain v1")
    }

    /// The key of the MACs that name accounts in the failed-password counters (names tried are never stored in
    /// clear: they may be passwords typed into the wrong field).
    static func loginNames(_ authority: CertificateAuthority) throws -> SymmetricKey {
        try derive(authority, "latchkey login names v1")
    }

    /// The key of the MACs that make nonces for signed requests (``NonceMinter``).
    static func nonces(_ authority: CertificateAuthority) throws -> SymmetricKey {
        try derive(authority, "latchkey nonces v1")
    }

    static func derive(_ authority: CertificateAuthority, _ info: String) throws -> SymmetricKey {
        let material = try authority.issuingKey.serializeAsPEM().derBytes
        return HKDF<SHA256>.deriveKey(
            inputKeyMaterial: SymmetricKey(data: material), info: Data(info.utf8), outputByteCount: 32)
    }
}

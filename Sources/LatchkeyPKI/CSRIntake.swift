import Crypto
import Foundation
import SwiftASN1
import X509
import _CryptoExtras

/// A CSR that passed intake: it parsed, its self-signature verified (proof of possession), and its key is accepted.
///
/// Only `publicKey` may be used for issuance; everything else the CSR asked for is ignored by ``IssuancePolicy``.
public struct AcceptedCSR: Sendable {
    public let publicKey: Certificate.PublicKey
    /// A short name of the key, such as "EC P-256" or "RSA 2048".
    public let keyDescription: String
    /// RFC 5280 §4.2.1.2 method 1 (SHA-1 of the subjectPublicKey bits), taken from the CSR's own bytes: deriving it
    /// from `publicKey` converts the key to affine coordinates again, a modular inversion per issuance.
    public let keyIdentifier: SubjectKeyIdentifier
    /// The key's SubjectPublicKeyInfo DER, byte for byte what swift-certificates writes for `publicKey`; for EC keys
    /// taken from the CSR's own point (serializing `publicKey` would convert it to affine coordinates again).
    public let subjectPublicKeyInfo: [UInt8]
    /// The CSR's DER as received: an App Attest attestation binds its SHA-256 (SPEC §6).
    public let der: [UInt8]
}

/// Parses and checks PKCS#10 certificate signing requests (RFC 2986).
///
/// Guarantees: a request is accepted only if it parses, its signature verifies with its own public key, and that key
/// is EC P-256, EC P-384 or RSA of 2048 to 4096 bits. Every refusal is a ``PKIError`` with code `csr_invalid`,
/// `csr_signature_invalid` or `csr_key_unsupported` and a message that says what was wrong.
public enum CSRIntake {
    /// The largest CSR accepted, in bytes (a 4096-bit RSA CSR is under 2 KiB of DER).
    public static let maximumSize = 16 * 1024

    /// Accepts a CSR given as PEM text or as DER bytes (detected from the content).
    public static func accept(_ bytes: [UInt8]) throws -> AcceptedCSR {
        guard !bytes.isEmpty else { throw PKIError(.csrInvalid, "the CSR is empty") }
        guard bytes.count <= maximumSize * 2 else {
            throw PKIError(.csrInvalid, "the CSR is larger than \(maximumSize) bytes")
        }
        if bytes.first == 0x30 { return try accept(der: bytes) }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw PKIError(.csrInvalid, "the CSR is neither DER nor PEM text")
        }
        return try accept(pem: text)
    }

    /// Accepts a PEM `CERTIFICATE REQUEST` (or `NEW CERTIFICATE REQUEST`) block.
    public static func accept(pem: String) throws -> AcceptedCSR {
        guard pem.utf8.count <= maximumSize * 2, let document = PEM.decode(pem) else {
            throw PKIError(.csrInvalid, "the CSR is not a PEM document (expected -----BEGIN CERTIFICATE REQUEST-----)")
        }
        guard document.label == "CERTIFICATE REQUEST" || document.label == "NEW CERTIFICATE REQUEST" else {
            throw PKIError(.csrInvalid, "expected a PEM CERTIFICATE REQUEST, got a PEM \(document.label)")
        }
        return try accept(der: document.der)
    }

    /// Accepts a DER-encoded CSR.
    public static func accept(der: [UInt8]) throws -> AcceptedCSR {
        guard der.count <= maximumSize else {
            throw PKIError(.csrInvalid, "the CSR is larger than \(maximumSize) bytes")
        }
        // One parse serves both the request and its key's bits (parsing twice was 7% of an issuance under perf).
        let root: ASN1Node
        let csr: CertificateSigningRequest
        do {
            root = try DER.parse(der)
            csr = try CertificateSigningRequest(derEncoded: root)
        } catch {
            throw diagnoseUnparsable(der)
        }
        let keyDescription = try acceptedKeyDescription(csr.publicKey)
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else {
            throw PKIError(
                .csrSignatureInvalid,
                "the CSR's signature does not verify with its own public key (no proof of possession of the private key)"
            )
        }
        let bits = subjectPublicKeyBits(ofCSR: root)
        let keyIdentifier =
            bits.map { SubjectKeyIdentifier(keyIdentifier: ArraySlice(Insecure.SHA1.hash(data: $0))) }
            ?? SubjectKeyIdentifier(hash: csr.publicKey)
        return AcceptedCSR(
            publicKey: csr.publicKey, keyDescription: keyDescription, keyIdentifier: keyIdentifier,
            subjectPublicKeyInfo: subjectPublicKeyInfo(csr.publicKey, keyDescription: keyDescription, bits: bits),
            der: der)
    }

    /// The SubjectPublicKeyInfo of a named-curve EC key up to its point, as swift-certificates writes it.
    private static let ecPrefixes: [String: (prefix: [UInt8], pointLength: Int)] = {
        func prefix(_ key: Certificate.PublicKey, pointLength: Int) -> (prefix: [UInt8], pointLength: Int) {
            (Array(SPKIPin.subjectPublicKeyInfoDER(key).dropLast(pointLength)), pointLength)
        }
        return [
            "EC P-256": prefix(Certificate.PublicKey(P256.Signing.PrivateKey().publicKey), pointLength: 65),
            "EC P-384": prefix(Certificate.PublicKey(P384.Signing.PrivateKey().publicKey), pointLength: 97),
        ]
    }()

    /// An EC key's SPKI from the CSR's uncompressed point (already checked on the curve, coordinates reduced, by the
    /// parse), which is the point swift-crypto would write; any other key is serialized.
    static func subjectPublicKeyInfo(
        _ key: Certificate.PublicKey, keyDescription: String, bits: ArraySlice<UInt8>?
    ) -> [UInt8] {
        if let bits, let ec = ecPrefixes[keyDescription], bits.count == ec.pointLength, bits.first == 0x04 {
            return ec.prefix + bits
        }
        return SPKIPin.subjectPublicKeyInfoDER(key)
    }

    /// The value of the subjectPublicKey BIT STRING of a parsed CSR (without the unused-bits byte), or nil.
    static func subjectPublicKeyBits(ofCSR root: ASN1Node) -> ArraySlice<UInt8>? {
        guard case .constructed(let request) = root.content,
            let info = request.first(where: { _ in true }), case .constructed(let fields) = info.content
        else { return nil }
        var field = fields.makeIterator()
        _ = field.next()  // version
        _ = field.next()  // subject
        guard let spki = field.next(), case .constructed(let parts) = spki.content else { return nil }
        var part = parts.makeIterator()
        _ = part.next()  // algorithm
        guard let bits = part.next(), bits.identifier == .bitString, case .primitive(let content) = bits.content,
            content.first == 0
        else { return nil }
        return content.dropFirst()
    }

    static let acceptedKeysText = "accepted keys are EC P-256, EC P-384 and RSA 2048 to 4096 bits"

    /// Names an accepted key, or refuses it with `csr_key_unsupported`.
    static func acceptedKeyDescription(_ key: Certificate.PublicKey) throws -> String {
        if P256.Signing.PublicKey(key) != nil { return "EC P-256" }
        if P384.Signing.PublicKey(key) != nil { return "EC P-384" }
        if let rsa = _RSA.Signing.PublicKey(key) {
            let bits = rsa.keySizeInBits
            guard bits >= 2048, bits <= 4096 else {
                throw PKIError(.csrKeyUnsupported, "the CSR has an RSA key of \(bits) bits; \(acceptedKeysText)")
            }
            return "RSA \(bits)"
        }
        if P521.Signing.PublicKey(key) != nil {
            throw PKIError(.csrKeyUnsupported, "the CSR has an EC P-521 key; \(acceptedKeysText)")
        }
        if Curve25519.Signing.PublicKey(key) != nil {
            throw PKIError(.csrKeyUnsupported, "the CSR has an Ed25519 key; \(acceptedKeysText)")
        }
        throw PKIError(.csrKeyUnsupported, "the CSR's key type is not supported; \(acceptedKeysText)")
    }

    /// Explains why swift-certificates could not parse a CSR, looking at its raw structure: a key type or size the
    /// library refuses is `csr_key_unsupported`; an acceptable key with an undecodable signature is
    /// `csr_signature_invalid`; anything else is `csr_invalid`.
    static func diagnoseUnparsable(_ der: [UInt8]) -> PKIError {
        guard let outer = try? DER.parse(der), case .constructed(let parts) = outer.content else {
            return PKIError(.csrInvalid, "the CSR is not valid DER (truncated or not a PKCS#10 request)")
        }
        let elements = Array(parts)
        guard elements.count == 3, case .constructed(let infoParts) = elements[0].content else {
            return PKIError(.csrInvalid, "the CSR does not have the PKCS#10 structure (info, algorithm, signature)")
        }
        let info = Array(infoParts)
        guard info.count >= 3, let key = RawKeyInfo(spki: info[2]) else {
            return PKIError(.csrInvalid, "the CSR's subject public key info cannot be read")
        }
        switch key.kind {
        case .rsa(let bits) where bits < 2048 || bits > 4096:
            return PKIError(.csrKeyUnsupported, "the CSR has an RSA key of \(bits) bits; \(acceptedKeysText)")
        case .other(let name):
            return PKIError(.csrKeyUnsupported, "the CSR has a key of type \(name); \(acceptedKeysText)")
        case .rsa, .ecP256, .ecP384:
            return PKIError(.csrSignatureInvalid, "the CSR's signature cannot be decoded for its key and algorithm")
        }
    }
}

/// The key type of a SubjectPublicKeyInfo, read from its raw DER without building a key object.
struct RawKeyInfo {
    enum Kind {
        case ecP256, ecP384
        case rsa(bits: Int)
        case other(String)
    }

    let kind: Kind

    static let rsaEncryption: ASN1ObjectIdentifier = [1, 2, 840, 113_549, 1, 1, 1]
    static let ecPublicKey: ASN1ObjectIdentifier = [1, 2, 840, 10045, 2, 1]
    static let p256: ASN1ObjectIdentifier = [1, 2, 840, 10045, 3, 1, 7]
    static let p384: ASN1ObjectIdentifier = [1, 3, 132, 0, 34]
    static let names: [ASN1ObjectIdentifier: String] = [
        [1, 3, 101, 112]: "Ed25519", [1, 3, 101, 113]: "Ed448", [1, 3, 101, 110]: "X25519",
        [1, 2, 840, 10040, 4, 1]: "DSA", [1, 2, 840, 113_549, 1, 1, 10]: "RSA-PSS",
    ]

    init?(spki: ASN1Node) {
        guard case .constructed(let spkiParts) = spki.content else { return nil }
        let parts = Array(spkiParts)
        guard parts.count == 2, case .constructed(let algParts) = parts[0].content else { return nil }
        let alg = Array(algParts)
        guard let first = alg.first, let oid = try? ASN1ObjectIdentifier(derEncoded: first) else { return nil }
        switch oid {
        case Self.rsaEncryption:
            guard let bitString = try? ASN1BitString(derEncoded: parts[1]),
                let rsaKey = try? DER.parse(Array(bitString.bytes)),
                case .constructed(let numbers) = rsaKey.content,
                let modulus = numbers.first(where: { _ in true }),
                case .primitive(let modulusBytes) = modulus.content
            else { return nil }
            let significant = modulusBytes.drop(while: { $0 == 0 })
            let leading = significant.first.map { $0.leadingZeroBitCount } ?? 8
            self.kind = .rsa(bits: significant.count * 8 - leading)
        case Self.ecPublicKey:
            guard alg.count == 2, let curve = try? ASN1ObjectIdentifier(derEncoded: alg[1]) else { return nil }
            switch curve {
            case Self.p256: self.kind = .ecP256
            case Self.p384: self.kind = .ecP384
            default: self.kind = .other("EC curve \(curve)")
            }
        default:
            self.kind = .other(Self.names[oid] ?? "algorithm \(oid)")
        }
    }
}

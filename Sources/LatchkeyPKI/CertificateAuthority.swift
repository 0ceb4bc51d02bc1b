import Crypto
import Foundation
import SwiftASN1
import X509

/// The private CA: a root that signs only the issuing intermediate, and the issuing intermediate that signs every
/// device and server certificate.
///
/// Guarantees: the root is CA:TRUE pathlen 1 with keyCertSign|cRLSign for 10 years; the issuing CA is CA:TRUE
/// pathlen 0 for 5 years (never beyond the root). The root's private key is not kept in memory after creation.
public struct CertificateAuthority: Sendable {
    public let root: Certificate
    public let issuing: Certificate
    /// The issuing CA's private key, parsed once and reused for every signature.
    public let issuingKey: Certificate.PrivateKey
    /// The AKI extension value for certificates signed by the issuing CA (its SKI).
    let issuingKeyIdentifier: AuthorityKeyIdentifier
    /// The algorithm the issuing key signs with, decided once.
    let issuingSignatureAlgorithm: Certificate.SignatureAlgorithm
    /// ``chain`` as PEM, issuing then root, encoded once.
    public let chainPEM: String
    /// The prepared device certificate of an ECDSA issuing key (nil otherwise: issued through swift-certificates).
    let deviceTemplate: DeviceCertificateTemplate?

    /// The chain a client needs, issuing first then root (SPEC §4 `/v1/ca`).
    public var chain: [Certificate] { [issuing, root] }

    public init(root: Certificate, issuing: Certificate, issuingKey: Certificate.PrivateKey) throws {
        guard issuing.issuer == root.subject, root.publicKey.isValidSignature(issuing.signature, for: issuing) else {
            throw PKIError(.caInvalid, "the issuing CA certificate is not signed by the root")
        }
        guard issuingKey.publicKey == issuing.publicKey else {
            throw PKIError(.caInvalid, "the issuing CA key does not match the issuing CA certificate")
        }
        self.root = root
        self.issuing = issuing
        self.issuingKey = issuingKey
        let ski =
            ((try? issuing.extensions.subjectKeyIdentifier) ?? nil) ?? SubjectKeyIdentifier(hash: issuing.publicKey)
        self.issuingKeyIdentifier = AuthorityKeyIdentifier(keyIdentifier: ski.keyIdentifier)
        self.issuingSignatureAlgorithm = issuingKey.defaultSignatureAlgorithm
        self.chainPEM = try issuing.pemText() + root.pemText()
        self.deviceTemplate = DeviceCertificateTemplate(
            issuing: issuing, signatureAlgorithm: issuingSignatureAlgorithm, keyIdentifier: issuingKeyIdentifier)
    }

    /// A freshly generated CA and its root key (which the caller stores and should then forget).
    public struct Created: Sendable {
        public let authority: CertificateAuthority
        public let rootKey: Certificate.PrivateKey
    }

    /// Creates a root (P-384) and an issuing CA (P-256) signed by it.
    public static func create(organization: String = "Latchkey", now: Date = Date()) throws -> Created {
        let rootKey = Certificate.PrivateKey(P384.Signing.PrivateKey())
        let issuingKey = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let notBefore = now.addingTimeInterval(-3600)
        let rootName = try DistinguishedName {
            OrganizationName(organization)
            CommonName("\(organization) Root CA")
        }
        let issuingName = try DistinguishedName {
            OrganizationName(organization)
            CommonName("\(organization) Issuing CA 1")
        }
        let root = try Certificate(
            version: .v3,
            serialNumber: SerialNumberGenerator.random(),
            publicKey: rootKey.publicKey,
            notValidBefore: notBefore,
            notValidAfter: now.addingTimeInterval(Lifetime.years(10)),
            issuer: rootName,
            subject: rootName,
            signatureAlgorithm: rootKey.defaultSignatureAlgorithm,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 1))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: rootKey.publicKey)
            },
            issuerPrivateKey: rootKey
        )
        let issuing = try Certificate(
            version: .v3,
            serialNumber: SerialNumberGenerator.random(),
            publicKey: issuingKey.publicKey,
            notValidBefore: notBefore,
            notValidAfter: now.addingTimeInterval(Lifetime.years(5)),
            issuer: rootName,
            subject: issuingName,
            signatureAlgorithm: rootKey.defaultSignatureAlgorithm,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: issuingKey.publicKey)
                AuthorityKeyIdentifier(keyIdentifier: SubjectKeyIdentifier(hash: rootKey.publicKey).keyIdentifier)
            },
            issuerPrivateKey: rootKey
        )
        return Created(
            authority: try CertificateAuthority(root: root, issuing: issuing, issuingKey: issuingKey), rootKey: rootKey)
    }

    /// Signs a certificate with the issuing CA's key; the issuer name and AKI come from the issuing CA.
    func sign(
        publicKey: Certificate.PublicKey,
        subject: DistinguishedName,
        notBefore: Date,
        notAfter: Date,
        extensions: Certificate.Extensions,
        serialNumber: Certificate.SerialNumber = SerialNumberGenerator.random()
    ) throws -> Certificate {
        try Certificate(
            version: .v3,
            serialNumber: serialNumber,
            publicKey: publicKey,
            notValidBefore: notBefore,
            notValidAfter: min(notAfter, issuing.notValidAfter),
            issuer: issuing.subject,
            subject: subject,
            signatureAlgorithm: issuingSignatureAlgorithm,
            extensions: extensions,
            issuerPrivateKey: issuingKey
        )
    }

}

extension Certificate.PrivateKey {
    /// The ECDSA signature algorithm matching the key's curve (SHA-256 for P-256, SHA-384 for P-384).
    var defaultSignatureAlgorithm: Certificate.SignatureAlgorithm {
        if P384.Signing.PublicKey(publicKey) != nil { return .ecdsaWithSHA384 }
        if P521.Signing.PublicKey(publicKey) != nil { return .ecdsaWithSHA512 }
        return .ecdsaWithSHA256
    }
}

/// Durations used by the certificate profile.
public enum Lifetime {
    public static let day: TimeInterval = 86_400
    public static func years(_ n: Int) -> TimeInterval { TimeInterval(n) * 365 * day + TimeInterval(n / 4) * day }
}

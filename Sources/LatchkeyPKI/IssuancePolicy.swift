import Crypto
import Foundation
import SwiftASN1
import X509

/// Decides every field of a device certificate (SPEC §3); only the public key comes from the request.
///
/// Guarantees: subject CN = device id; SAN URIs `urn:latchkey:device:<id>` and `urn:latchkey:user:<id>` only;
/// EKU clientAuth only; KeyUsage digitalSignature (critical); CA:FALSE (critical); SKI and AKI; certificatePolicies
/// with the device's assurance (SPEC §6); a random positive
/// serial of 126 bits; not-before backdated by `backdate`; not-after `lifetime` later, never past the issuing CA.
public struct IssuancePolicy: Sendable {
    public static let defaultLifetime: TimeInterval = 7 * Lifetime.day
    /// The longest lifetime the policy accepts (a device certificate is meant to be short-lived).
    public static let maximumLifetime: TimeInterval = 397 * Lifetime.day

    public let lifetime: TimeInterval
    public let backdate: TimeInterval

    public init(lifetime: TimeInterval = IssuancePolicy.defaultLifetime, backdate: TimeInterval = 300) throws {
        guard lifetime >= 60, lifetime <= IssuancePolicy.maximumLifetime else {
            throw PKIError(.invalidArgument, "a certificate lifetime must be between 1 minute and 397 days")
        }
        guard backdate >= 0, backdate <= 3600 else {
            throw PKIError(.invalidArgument, "the clock-skew backdate must be between 0 and 1 hour")
        }
        self.lifetime = lifetime
        self.backdate = backdate
    }

    /// Issues a client certificate for a device of a user, signed by the issuing CA.
    public func issue(
        _ request: AcceptedCSR, deviceID: String, userID: String, assurance: DeviceAssurance = .oob,
        authority: CertificateAuthority, now: Date = Date()
    ) throws -> Certificate {
        try issue(
            publicKey: request.publicKey, keyIdentifier: request.keyIdentifier, deviceID: deviceID, userID: userID,
            assurance: assurance, authority: authority, now: now)
    }

    public func issue(
        publicKey: Certificate.PublicKey,
        keyIdentifier: SubjectKeyIdentifier? = nil,
        deviceID: String,
        userID: String,
        assurance: DeviceAssurance = .oob,
        authority: CertificateAuthority,
        now: Date = Date(),
        serialNumber: Certificate.SerialNumber = SerialNumberGenerator.random()
    ) throws -> Certificate {
        try Self.checkIdentifier(deviceID, what: "device id")
        try Self.checkIdentifier(userID, what: "user id")
        let subject = try DistinguishedName { CommonName(deviceID) }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([.clientAuth])
            SubjectAlternativeNames([
                .uniformResourceIdentifier(DeviceIdentity.deviceURI(deviceID)),
                .uniformResourceIdentifier(DeviceIdentity.userURI(userID)),
            ])
            keyIdentifier ?? SubjectKeyIdentifier(hash: publicKey)
            authority.issuingKeyIdentifier
            assurance.certificatePoliciesExtension
        }
        return try authority.sign(
            publicKey: publicKey,
            subject: subject,
            notBefore: now.addingTimeInterval(-backdate),
            notAfter: now.addingTimeInterval(lifetime),
            extensions: extensions,
            serialNumber: serialNumber
        )
    }

    /// Issues a device certificate and encodes it, from the authority's prepared DER template when it has one
    /// (``DeviceCertificateTemplate``: the same bytes swift-certificates would write, without building them field by
    /// field), otherwise through ``issue(_:deviceID:userID:assurance:authority:now:)``.
    public func issueEncoded(
        _ request: AcceptedCSR, deviceID: String, userID: String, assurance: DeviceAssurance = .oob,
        authority: CertificateAuthority, now: Date = Date(),
        serialNumber: Certificate.SerialNumber = SerialNumberGenerator.random()
    ) throws -> IssuedCertificate {
        guard let template = authority.deviceTemplate else {
            return try IssuedCertificate(
                issue(
                    publicKey: request.publicKey, keyIdentifier: request.keyIdentifier, deviceID: deviceID,
                    userID: userID, assurance: assurance, authority: authority, now: now, serialNumber: serialNumber))
        }
        try Self.checkIdentifier(deviceID, what: "device id")
        try Self.checkIdentifier(userID, what: "user id")
        let spki = request.subjectPublicKeyInfo
        // To the nearest whole second, as X.509 Time holds it (and as swift-certificates encodes a Date).
        func whole(_ date: Date) -> Date { Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded()) }
        let notBefore = whole(now.addingTimeInterval(-backdate))
        let notAfter = whole(min(now.addingTimeInterval(lifetime), template.issuerNotAfter))
        let toBeSigned = try template.toBeSigned(
            serial: Array(serialNumber.bytes), notBefore: notBefore, notAfter: notAfter, deviceID: deviceID,
            userID: userID, subjectPublicKeyInfo: spki, subjectKeyIdentifier: request.keyIdentifier.keyIdentifier,
            assurance: assurance)
        return IssuedCertificate(
            der: try template.certificate(toBeSigned: toBeSigned, issuingKey: authority.issuingKey),
            serial: serialNumber, notValidBefore: notBefore, notValidAfter: notAfter, spkiSHA256: Hex.lowercase(SHA256.hash(data: spki)))
    }

    /// Identifiers go into a URI and a CN: letters, digits, '-', '_' and '.' only, 1 to 64 characters.
    static func checkIdentifier(_ value: String, what: String) throws {
        let allowed = value.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x5F
                || c == 0x2E
        }
        guard !value.isEmpty, value.utf8.count <= 64, allowed else {
            throw PKIError(.invalidArgument, "a \(what) must be 1 to 64 letters, digits, '-', '_' or '.'")
        }
    }
}

import Crypto
import Foundation
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
import SwiftASN1
import X509

/// Device certificates encoded from a prepared DER template (issue 17): the profile of ``IssuancePolicy`` is fixed,
/// so everything but the serial, validity, subject, key, SANs, key identifier and assurance is encoded once, when the
/// authority is loaded, and an issuance only concatenates bytes around one signature.
///
/// Guarantees: the to-be-signed bytes are the ones swift-certificates writes for the same inputs (a test compares them
/// byte for byte, for every key type, assurance and the 2050 switch from UTCTime to GeneralizedTime); the signature
/// is made by the issuing key over exactly those bytes. Only ECDSA issuing keys have a template; any other issuing
/// key is issued through swift-certificates.
struct DeviceCertificateTemplate: Sendable {
    let signatureAlgorithm: Certificate.SignatureAlgorithm
    /// AlgorithmIdentifier of the issuing key's ECDSA algorithm (no parameters).
    let algorithmIdentifier: [UInt8]
    let issuer: [UInt8]
    /// basicConstraints (critical, CA:FALSE), keyUsage (critical, digitalSignature) and extendedKeyUsage (clientAuth).
    let leadingExtensions: [UInt8]
    /// The authorityKeyIdentifier extension.
    let authorityKeyIdentifier: [UInt8]
    /// The certificatePolicies extension of each assurance, by `policyNumber - 1`.
    let policies: [[UInt8]]
    let issuerNotAfter: Date

    init?(issuing: Certificate, signatureAlgorithm: Certificate.SignatureAlgorithm, keyIdentifier: AuthorityKeyIdentifier)
    {
        let algorithmOID: [UInt8]
        switch signatureAlgorithm {
        case .ecdsaWithSHA256: algorithmOID = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x02]
        case .ecdsaWithSHA384: algorithmOID = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x03]
        case .ecdsaWithSHA512: algorithmOID = [0x2A, 0x86, 0x48, 0xCE, 0x3D, 0x04, 0x03, 0x04]
        default: return nil
        }
        do {
            self.signatureAlgorithm = signatureAlgorithm
            algorithmIdentifier = DERBytes.tlv(0x30, DERBytes.tlv(0x06, algorithmOID))
            issuer = try DERBytes.serialized(issuing.subject)
            let leading = try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.clientAuth])
            }
            leadingExtensions = try leading.flatMap { try DERBytes.serialized($0) }
            authorityKeyIdentifier = try DERBytes.serialized(Certificate.Extension(keyIdentifier, critical: false))
            policies = try DeviceAssurance.allCases.map { try DERBytes.serialized($0.certificatePoliciesExtension) }
            issuerNotAfter = issuing.notValidAfter
        } catch {
            return nil
        }
    }

    /// The TBSCertificate DER of a device certificate.
    func toBeSigned(
        serial: [UInt8], notBefore: Date, notAfter: Date, deviceID: String, userID: String,
        subjectPublicKeyInfo: [UInt8], subjectKeyIdentifier: ArraySlice<UInt8>, assurance: DeviceAssurance
    ) throws -> [UInt8] {
        let validity = DERBytes.tlv(
            0x30, try DERBytes.time(notBefore) + DERBytes.time(min(notAfter, issuerNotAfter)))
        // Name: SEQUENCE { SET { SEQUENCE { commonName, UTF8String } } }
        let commonName = DERBytes.tlv(0x06, [0x55, 0x04, 0x03]) + DERBytes.tlv(0x0C, Array(deviceID.utf8))
        let subject = DERBytes.tlv(0x30, DERBytes.tlv(0x31, DERBytes.tlv(0x30, commonName)))
        let names =
            DERBytes.tlv(0x86, Array(DeviceIdentity.deviceURI(deviceID).utf8))
            + DERBytes.tlv(0x86, Array(DeviceIdentity.userURI(userID).utf8))
        let subjectAlternativeNames = DERBytes.tlv(
            0x30, DERBytes.tlv(0x06, [0x55, 0x1D, 0x11]) + DERBytes.tlv(0x04, DERBytes.tlv(0x30, names)))
        let subjectKeyIdentifierExtension = DERBytes.tlv(
            0x30,
            DERBytes.tlv(0x06, [0x55, 0x1D, 0x0E]) + DERBytes.tlv(0x04, DERBytes.tlv(0x04, Array(subjectKeyIdentifier))))
        let extensions =
            leadingExtensions + subjectAlternativeNames + subjectKeyIdentifierExtension + authorityKeyIdentifier
            + policies[assurance.policyNumber - 1]
        var body: [UInt8] = [0xA0, 0x03, 0x02, 0x01, 0x02]  // [0] EXPLICIT version v3
        body.reserveCapacity(600)
        body += DERBytes.tlv(0x02, serial)
        body += algorithmIdentifier
        body += issuer
        body += validity
        body += subject
        body += subjectPublicKeyInfo
        body += DERBytes.tlv(0xA3, DERBytes.tlv(0x30, extensions))
        return DERBytes.tlv(0x30, body)
    }

    /// The whole certificate: the TBS bytes, the algorithm, and the issuing key's signature over them.
    func certificate(toBeSigned: [UInt8], issuingKey: Certificate.PrivateKey) throws -> [UInt8] {
        let signature = try issuingKey.sign(bytes: toBeSigned, signatureAlgorithm: signatureAlgorithm)
        return DERBytes.tlv(
            0x30, toBeSigned + algorithmIdentifier + DERBytes.tlv(0x03, [0x00] + signature.rawRepresentation))
    }
}

/// Hand-encoded DER: tag, definite length, contents.
enum DERBytes {
    static func serialized(_ element: some DERSerializable) throws -> [UInt8] {
        var serializer = DER.Serializer()
        try serializer.serialize(element)
        return serializer.serializedBytes
    }

    static func tlv(_ tag: UInt8, _ contents: [UInt8]) -> [UInt8] {
        var out: [UInt8] = [tag]
        out.reserveCapacity(contents.count + 4)
        let n = contents.count
        if n < 0x80 {
            out.append(UInt8(n))
        } else if n < 0x100 {
            out += [0x81, UInt8(n)]
        } else if n < 0x10000 {
            out += [0x82, UInt8(n >> 8), UInt8(n & 0xFF)]
        } else {
            out += [0x83, UInt8(n >> 16), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
        }
        return out + contents
    }

    /// X.509 Time of `date`, to the nearest second (as swift-certificates rounds): UTCTime from 1950 to 2049,
    /// GeneralizedTime otherwise (RFC 5280 4.1.2.5), encoded by SwiftASN1.
    static func time(_ date: Date) throws -> [UInt8] {
        var seconds = time_t(date.timeIntervalSince1970.rounded())
        var parts = tm()
        gmtime_r(&seconds, &parts)
        let year = Int(parts.tm_year) + 1900
        let (month, day) = (Int(parts.tm_mon) + 1, Int(parts.tm_mday))
        let (hours, minutes, second) = (Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec))
        if (1950..<2050).contains(year) {
            return try serialized(
                UTCTime(year: year, month: month, day: day, hours: hours, minutes: minutes, seconds: second))
        }
        return try serialized(
            GeneralizedTime(
                year: year, month: month, day: day, hours: hours, minutes: minutes, seconds: second,
                fractionalSeconds: 0))
    }
}

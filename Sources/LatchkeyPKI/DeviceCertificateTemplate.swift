import Crypto
import Foundation
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
    ) -> [UInt8] {
        let validity = DERBytes.tlv(0x30, DERBytes.time(notBefore) + DERBytes.time(min(notAfter, issuerNotAfter)))
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

    /// X.509 Time of `date`, to the nearest second (as swift-certificates rounds): UTCTime from 1950 to 2049, GeneralizedTime otherwise (RFC 5280
    /// 4.1.2.5).
    static func time(_ date: Date) -> [UInt8] {
        let seconds = Int64(date.timeIntervalSince1970.rounded())
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let secondOfDay = Int(seconds - days * 86_400)
        let (year, month, day) = civil(fromDays: days)
        var text = ""
        func two(_ value: Int) { text += value < 10 ? "0\(value)" : "\(value)" }
        let utc = (1950..<2050).contains(year)
        if utc {
            two(year % 100)
        } else {
            text += String(repeating: "0", count: max(0, 4 - String(year).count)) + String(year)
        }
        two(month)
        two(day)
        two(secondOfDay / 3600)
        two(secondOfDay / 60 % 60)
        two(secondOfDay % 60)
        text += "Z"
        return tlv(utc ? 0x17 : 0x18, Array(text.utf8))
    }

    /// Year, month and day of a day count since 1970-01-01 (Howard Hinnant's civil_from_days).
    static func civil(fromDays days: Int64) -> (Int, Int, Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        return (Int(year), Int(month), Int(day))
    }
}

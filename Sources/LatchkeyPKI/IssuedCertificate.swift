import Crypto
import Foundation
import SwiftASN1
import X509

/// An issued certificate with its DER encoding, made once and shared by the stored record and the API answer.
public struct IssuedCertificate: Sendable {
    public let der: [UInt8]
    /// The serial as lowercase hex, as the store keys certificates.
    public let serialHex: String
    public let notValidBefore: Date
    public let notValidAfter: Date
    /// SHA-256 (hex) of the SubjectPublicKeyInfo DER: what binds a key to one device.
    public let spkiSHA256: String

    public init(_ certificate: Certificate) throws {
        self.der = try DERBytes.serialized(certificate)
        self.serialHex = SerialNumberGenerator.hex(certificate.serialNumber)
        self.notValidBefore = certificate.notValidBefore
        self.notValidAfter = certificate.notValidAfter
        self.spkiSHA256 = Hex.lowercase(SHA256.hash(data: SPKIPin.subjectPublicKeyInfoDER(certificate.publicKey)))
    }

    /// A certificate encoded from ``DeviceCertificateTemplate``: its fields as they were encoded.
    init(der: [UInt8], serial: Certificate.SerialNumber, notValidBefore: Date, notValidAfter: Date, spkiSHA256: String) {
        self.der = der
        self.serialHex = SerialNumberGenerator.hex(serial)
        self.notValidBefore = notValidBefore
        self.notValidAfter = notValidAfter
        self.spkiSHA256 = spkiSHA256
    }

    /// The certificate, parsed from ``der``.
    public func certificate() throws -> Certificate { try Certificate(derEncoded: der) }

    /// The certificate as PEM.
    public var pem: String { PEM.encode(der, label: "CERTIFICATE") }
}

import Crypto
import Foundation
import SwiftASN1
import X509

/// An issued certificate with its DER encoding, made once and shared by the stored record and the API answer.
public struct IssuedCertificate: Sendable {
    public let certificate: Certificate
    public let der: [UInt8]

    public init(_ certificate: Certificate) throws {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        self.certificate = certificate
        self.der = serializer.serializedBytes
    }

    /// The serial as lowercase hex, as the store keys certificates.
    public var serialHex: String { SerialNumberGenerator.hex(certificate.serialNumber) }

    /// SHA-256 (hex) of the SubjectPublicKeyInfo DER: what binds a key to one device.
    public var spkiSHA256: String {
        Hex.lowercase(SHA256.hash(data: SPKIPin.subjectPublicKeyInfoDER(certificate.publicKey)))
    }

    /// The certificate as PEM.
    public var pem: String { PEM.encode(der, label: "CERTIFICATE") }
}

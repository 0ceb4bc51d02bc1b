import Crypto
import Foundation
import SwiftASN1
import X509

#if canImport(Glibc)
    import Glibc
#endif

/// X.509 v2 certificate revocation lists (RFC 5280 §5), which swift-certificates does not make: for gateways that
/// check client certificates against a CRL (nginx `ssl_crl`, HAProxy `crl-file`).
///
/// Guarantees: signed by the CA's key (ECDSA P-256 with SHA-256 or P-384 with SHA-384), naming the CA as issuer with
/// its key identifier (AKI) and a CRL number; times in UTCTime; one entry per revoked serial, in the order given.
public enum CertificateRevocationList {
    /// A revoked certificate: its serial (unsigned big-endian bytes) and when it was revoked.
    public struct Entry: Sendable, Equatable {
        public let serial: [UInt8]
        public let revokedAt: Date

        public init(serial: [UInt8], revokedAt: Date) {
            self.serial = serial
            self.revokedAt = revokedAt
        }

        /// An entry from a serial in lowercase hex (as the store keeps it); nil for anything that is not hex.
        public init?(serialHex: String, revokedAt: Date) {
            guard let bytes = Hex.bytes(serialHex), !bytes.isEmpty else { return nil }
            self.init(serial: bytes, revokedAt: revokedAt)
        }
    }

    /// The DER of a CRL issued by `issuer`, signed by `signer` (made once from the issuer's key).
    public static func make(
        issuer: Certificate, signer: Signer, entries: [Entry], thisUpdate: Date, nextUpdate: Date, number: UInt64
    ) throws -> [UInt8] {
        var tbs = DER.Serializer()
        try tbs.appendConstructedNode(identifier: .sequence) { s in
            try s.serialize(1)
            try appendAlgorithm(&s, signer.algorithm)
            try s.serialize(issuer.subject)
            try s.serialize(try utcTime(thisUpdate))
            try s.serialize(try utcTime(nextUpdate))
            if !entries.isEmpty {
                try s.appendConstructedNode(identifier: .sequence) { s in
                    for entry in entries {
                        try s.appendConstructedNode(identifier: .sequence) { s in
                            appendUnsignedInteger(&s, entry.serial)
                            try s.serialize(try utcTime(entry.revokedAt))
                        }
                    }
                }
            }
            try s.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { s in
                try s.appendConstructedNode(identifier: .sequence) { s in
                    if let identifier = try issuer.extensions.subjectKeyIdentifier?.keyIdentifier {
                        var value = DER.Serializer()
                        value.appendConstructedNode(identifier: .sequence) { s in
                            s.appendPrimitiveNode(
                                identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)
                            ) { $0.append(contentsOf: identifier) }
                        }
                        try appendExtension(&s, [2, 5, 29, 35], value.serializedBytes)
                    }
                    var crlNumber = DER.Serializer()
                    appendUnsignedInteger(&crlNumber, withUnsafeBytes(of: number.bigEndian) { Array($0) })
                    try appendExtension(&s, [2, 5, 29, 20], crlNumber.serializedBytes)
                }
            }
        }
        let tbsBytes = tbs.serializedBytes
        let signature = try signer.sign(tbsBytes)
        var list = DER.Serializer()
        try list.appendConstructedNode(identifier: .sequence) { s in
            s.serializeRawBytes(tbsBytes)
            try appendAlgorithm(&s, signer.algorithm)
            try s.serialize(ASN1BitString(bytes: ArraySlice(signature)))
        }
        return list.serializedBytes
    }

    /// The signing half of a CA key, by curve: made once, used for every list.
    public struct Signer: Sendable {
        let algorithm: ASN1ObjectIdentifier
        let sign: @Sendable ([UInt8]) throws -> [UInt8]

        public init(_ key: Certificate.PrivateKey) throws {
            let pem = try key.serializeAsPEM().pemString
            if let p256 = try? P256.Signing.PrivateKey(pemRepresentation: pem) {
                algorithm = [1, 2, 840, 10045, 4, 3, 2]
                sign = { Array(try p256.signature(for: $0).derRepresentation) }
            } else if let p384 = try? P384.Signing.PrivateKey(pemRepresentation: pem) {
                algorithm = [1, 2, 840, 10045, 4, 3, 3]
                sign = { Array(try p384.signature(for: $0).derRepresentation) }
            } else {
                throw PKIError(.invalidArgument, "CRLs are signed with P-256 or P-384 CA keys only")
            }
        }
    }

    static func appendAlgorithm(_ s: inout DER.Serializer, _ oid: ASN1ObjectIdentifier) throws {
        try s.appendConstructedNode(identifier: .sequence) { try $0.serialize(oid) }
    }

    static func appendExtension(_ s: inout DER.Serializer, _ oid: ASN1ObjectIdentifier, _ value: [UInt8]) throws {
        try s.appendConstructedNode(identifier: .sequence) { s in
            try s.serialize(oid)
            try s.serialize(ASN1OctetString(contentBytes: ArraySlice(value)))
        }
    }

    /// A non-negative INTEGER from unsigned big-endian bytes (minimal, with a leading zero when the top bit is set).
    static func appendUnsignedInteger(_ s: inout DER.Serializer, _ bytes: [UInt8]) {
        var content = Array(bytes.drop { $0 == 0 })
        if content.isEmpty { content = [0] }
        if content[0] & 0x80 != 0 { content.insert(0, at: 0) }
        s.appendPrimitiveNode(identifier: .integer) { $0.append(contentsOf: content) }
    }

    static func utcTime(_ date: Date) throws -> UTCTime {
        var seconds = time_t(date.timeIntervalSince1970.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return try UTCTime(
            year: Int(parts.tm_year) + 1900, month: Int(parts.tm_mon) + 1, day: Int(parts.tm_mday),
            hours: Int(parts.tm_hour), minutes: Int(parts.tm_min), seconds: Int(parts.tm_sec))
    }
}

import Crypto
import Foundation
import LatchkeyPKI
import SwiftASN1
import X509

/// Makes App Attest attestations and assertions and Android Key Attestation chains under a root it holds, in the
/// real wire formats: for `latchkey demo`, tests and benchmarks, where no Apple or Google hardware can be reached.
///
/// Guarantees: nothing it makes verifies unless its root is trusted explicitly (`--attestation-extra-root`); the
/// published roots' fingerprints are never its own.
public struct AttestationSimulator: Sendable {
    public let root: Certificate
    public let intermediate: Certificate
    private let rootKey: P256.Signing.PrivateKey
    private let intermediateKey: P256.Signing.PrivateKey

    /// A new root and intermediate, valid from an hour before `now` for ten years.
    public init(name: String = "Latchkey Test Attestation Root", now: Date = Date()) throws {
        rootKey = P256.Signing.PrivateKey()
        intermediateKey = P256.Signing.PrivateKey()
        let rootName = try DistinguishedName { CommonName(name) }
        root = try Self.caCertificate(
            subject: rootName, key: Certificate.PublicKey(rootKey.publicKey), issuer: rootName,
            issuerKey: rootKey, now: now)
        intermediate = try Self.caCertificate(
            subject: try DistinguishedName { CommonName(name + " Intermediate") },
            key: Certificate.PublicKey(intermediateKey.publicKey), issuer: rootName, issuerKey: rootKey, now: now)
    }

    /// The root, PEM, for a trust-anchor file.
    public func rootPEM() throws -> String { try root.serializeAsPEM().pemString }

    // MARK: App Attest

    /// An App Attest attestation object for `attestKey` (the App Attest key, not the TLS key), bound to
    /// `clientDataHash`; `counter` other than 0 and a foreign `aaguid` make refusable variants.
    public func appAttest(
        attestKey: P256.Signing.PrivateKey, appID: String, environment: AppAttestEnvironment,
        clientDataHash: [UInt8], counter: UInt32 = 0, now: Date = Date()
    ) throws -> (object: [UInt8], keyID: [UInt8]) {
        let point = Array(attestKey.publicKey.x963Representation)
        let keyID = Array(SHA256.hash(data: point))
        var authData = Self.authDataHead(appID: appID, counter: counter)
        authData += environment.aaguid
        authData += [UInt8(keyID.count >> 8), UInt8(keyID.count & 0xFF)] + keyID
        authData += CBORWriter.encode(
            .map([
                (.unsigned(1), .unsigned(2)), (.unsigned(3), .negative(6)), (.negative(0), .unsigned(1)),
                (.negative(1), .bytes(Array(point[1..<33]))), (.negative(2), .bytes(Array(point[33..<65]))),
            ]))
        let nonce = Array(SHA256.hash(data: authData + clientDataHash))
        var nonceDER = DER.Serializer()
        try nonceDER.appendConstructedNode(identifier: .sequence) { sequence in
            try sequence.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 1, tagClass: .contextSpecific)) {
                try $0.serialize(ASN1OctetString(contentBytes: nonce[...]))
            }
        }
        let credential = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(),
            publicKey: Certificate.PublicKey(attestKey.publicKey),
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(3 * 86_400),
            issuer: intermediate.subject,
            subject: try DistinguishedName { CommonName(Hex.lowercase(keyID)) },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: Certificate.Extensions([
                Certificate.Extension(
                    oid: AppAttestVerifier.nonceExtension, critical: false, value: nonceDER.serializedBytes[...])
            ]),
            issuerPrivateKey: Certificate.PrivateKey(intermediateKey))
        let object = CBORValue.map([
            (.text("fmt"), .text("apple-appattest")),
            (
                .text("attStmt"),
                .map([
                    (.text("x5c"), .array([.bytes(DERBytes.of(credential)), .bytes(DERBytes.of(intermediate))])),
                    (.text("receipt"), .bytes(Array("simulated receipt".utf8))),
                ])
            ),
            (.text("authData"), .bytes(authData)),
        ])
        return (CBORWriter.encode(object), keyID)
    }

    /// An App Attest assertion over `clientData` with `counter`.
    public static func assertion(
        attestKey: P256.Signing.PrivateKey, appID: String, counter: UInt32, clientData: [UInt8]
    ) throws -> [UInt8] {
        let authData = authDataHead(appID: appID, counter: counter)
        let nonce = Array(SHA256.hash(data: authData + Array(SHA256.hash(data: clientData))))
        let signature = try attestKey.signature(for: nonce)
        return CBORWriter.encode(
            .map([
                (.text("signature"), .bytes(Array(signature.derRepresentation))),
                (.text("authenticatorData"), .bytes(authData)),
            ]))
    }

    /// rpIdHash, flags (AT and UP, as Apple sets them in both attestations and assertions) and the counter.
    static func authDataHead(appID: String, counter: UInt32) -> [UInt8] {
        Array(SHA256.hash(data: Array(appID.utf8))) + [0x40 | 0x01] + withUnsafeBytes(of: counter.bigEndian, Array.init)
    }

    // MARK: Android Key Attestation

    /// What the simulated KeyDescription says.
    public struct AndroidClaims: Sendable {
        public var attestationVersion: Int = 400
        public var securityLevel: AndroidKeyDescription.SecurityLevel = .trustedEnvironment
        public var bootState: AndroidKeyDescription.VerifiedBootState = .verified
        public var deviceLocked = true
        public var packages: [(name: String, version: Int)] = []
        public var signatureDigests: [[UInt8]] = []

        public init(package: String, signatureDigest: [UInt8]) {
            packages = [(package, 1)]
            signatureDigests = [signatureDigest]
        }
    }

    /// A chain, leaf first (DER), attesting `publicKey` with `challenge`, signed by the intermediate, root last.
    public func androidChain(
        publicKey: Certificate.PublicKey, challenge: [UInt8], claims: AndroidClaims, now: Date = Date()
    ) throws -> [[UInt8]] {
        let leaf = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: publicKey,
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(365 * 86_400),
            issuer: intermediate.subject, subject: try DistinguishedName { CommonName("Android Keystore Key") },
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: Certificate.Extensions([
                Certificate.Extension(
                    oid: AndroidKeyDescription.extensionOID, critical: false,
                    value: try Self.keyDescription(challenge: challenge, claims: claims)[...])
            ]),
            issuerPrivateKey: Certificate.PrivateKey(intermediateKey))
        return [DERBytes.of(leaf), DERBytes.of(intermediate), DERBytes.of(root)]
    }

    /// The DER of a KeyDescription with `claims` (the leaf's extension value).
    public static func keyDescription(challenge: [UInt8], claims: AndroidClaims) throws -> [UInt8] {
        func enumerated(_ value: Int, _ s: inout DER.Serializer) {
            s.appendPrimitiveNode(identifier: .enumerated) { $0.append(UInt8(value)) }
        }
        func tagged(_ tag: UInt, _ s: inout DER.Serializer, _ body: (inout DER.Serializer) throws -> Void) throws {
            try s.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: tag, tagClass: .contextSpecific), body)
        }
        var application = DER.Serializer()
        try application.appendConstructedNode(identifier: .sequence) { s in
            try s.appendConstructedNode(identifier: .set) { set in
                for package in claims.packages {
                    try set.appendConstructedNode(identifier: .sequence) { info in
                        try info.serialize(ASN1OctetString(contentBytes: Array(package.name.utf8)[...]))
                        try info.serialize(package.version)
                    }
                }
            }
            try s.appendConstructedNode(identifier: .set) { set in
                for digest in claims.signatureDigests { try set.serialize(ASN1OctetString(contentBytes: digest[...])) }
            }
        }
        var out = DER.Serializer()
        try out.appendConstructedNode(identifier: .sequence) { s in
            try s.serialize(claims.attestationVersion)
            enumerated(claims.securityLevel.rawValue, &s)
            try s.serialize(claims.attestationVersion)
            enumerated(claims.securityLevel.rawValue, &s)
            try s.serialize(ASN1OctetString(contentBytes: challenge[...]))
            try s.serialize(ASN1OctetString(contentBytes: []))
            try s.appendConstructedNode(identifier: .sequence) { software in
                try tagged(709, &software) { try $0.serialize(ASN1OctetString(contentBytes: application.serializedBytes[...])) }
            }
            try s.appendConstructedNode(identifier: .sequence) { hardware in
                try tagged(704, &hardware) { t in
                    try t.appendConstructedNode(identifier: .sequence) { rot in
                        try rot.serialize(ASN1OctetString(contentBytes: [UInt8](repeating: 0, count: 32)[...]))
                        try rot.serialize(claims.deviceLocked)
                        enumerated(claims.bootState.rawValue, &rot)
                        try rot.serialize(ASN1OctetString(contentBytes: [UInt8](repeating: 1, count: 32)[...]))
                    }
                }
            }
        }
        return out.serializedBytes
    }

    static func caCertificate(
        subject: DistinguishedName, key: Certificate.PublicKey, issuer: DistinguishedName,
        issuerKey: P256.Signing.PrivateKey, now: Date
    ) throws -> Certificate {
        try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: key,
            notValidBefore: now.addingTimeInterval(-3600), notValidAfter: now.addingTimeInterval(10 * 365 * 86_400),
            issuer: issuer, subject: subject, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
            },
            issuerPrivateKey: Certificate.PrivateKey(issuerKey))
    }
}

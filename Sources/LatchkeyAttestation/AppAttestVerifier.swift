import Crypto
import Foundation
import SwiftASN1
@_spi(FixedExpiryValidationTime) import X509

/// App Attest environment: which AAGUID the attestation must carry.
public enum AppAttestEnvironment: String, Sendable, CaseIterable {
    case production, development

    var aaguid: [UInt8] {
        switch self {
        case .production: Array("appattest".utf8) + [UInt8](repeating: 0, count: 7)
        case .development: Array("appattestdevelop".utf8)
        }
    }
}

/// The parts of an App Attest attestation object, read but not yet verified: the format, the certificates of `x5c`,
/// the receipt and the authenticator data.
///
/// Guarantees: at most `maximumSize` bytes; `fmt` is `apple-appattest`; `x5c` holds exactly the credential
/// certificate and its intermediate, both parse (Apple sends no more, and more would let a path search grow
/// factorially); `authData` parses with its attested credential data; nothing after the object.
public struct AppAttestObject: Sendable {
    /// Real objects are about 5.5 KB (the receipt is most of it).
    public static let maximumSize = 32 * 1024

    public let certificates: [Certificate]
    public let receipt: [UInt8]
    public let authData: AuthenticatorData

    public init(_ bytes: [UInt8]) throws(AttestationError) {
        guard bytes.count <= Self.maximumSize else {
            throw .invalid("format", "the attestation object is larger than \(Self.maximumSize) bytes")
        }
        let object: CBORValue
        do { object = try CBORReader.decode(bytes) } catch {
            throw .invalid("format", "the attestation object is not CBOR: \(error.description)")
        }
        guard object.isMap, object[text: "fmt"]?.textString == "apple-appattest" else {
            throw .invalid("format", "the attestation object's fmt is not apple-appattest")
        }
        guard let statement = object[text: "attStmt"], statement.isMap,
            let x5c = statement[text: "x5c"]?.arrayItems, x5c.count == 2,
            let authDataBytes = object[text: "authData"]?.byteString
        else {
            throw .invalid(
                "format", "the attestation object lacks attStmt.x5c (the credential certificate and its intermediate) or authData")
        }
        receipt = statement[text: "receipt"]?.byteString ?? []
        certificates = try AppAttestVerifier.certificates(x5c)
        authData = try AuthenticatorData(attestation: authDataBytes)
    }
}

/// An App Attest key that passed attestation.
public struct AppAttestResult: Sendable {
    public let keyID: [UInt8]
    public let appID: String
    public let environment: AppAttestEnvironment
    /// The attested key: assertions of this device are verified with it.
    public let publicKey: P256.Signing.PublicKey
    public let counter: UInt32
    public let receiptSize: Int
}

/// Verifies an App Attest attestation object by Apple's steps ("Validating apps that connect to your server"), each
/// failure naming its step.
///
/// Guarantees: a result is returned only if (1) `x5c` is the credential certificate then its intermediates, and
/// chains to one of the Apple anchors at `time`; (2–4) the certificate's nonce extension equals
/// SHA-256(authData || clientDataHash); (5) SHA-256 of the certificate's key (uncompressed point) equals the key id;
/// (6) authData's RP ID hash is SHA-256 of one of the app ids; (7) the counter is 0; (8) the AAGUID is the
/// environment's; (9) the credential id equals the key id; and the credential key in authData is the certificate's.
public struct AppAttestVerifier: Sendable {
    public static let nonceExtension = try! ASN1ObjectIdentifier(dotRepresentation: "1.2.840.113635.100.8.2")

    public let anchors: [Certificate]
    public let appIDs: [String]
    public let environment: AppAttestEnvironment

    public init(anchors: [Certificate], appIDs: [String], environment: AppAttestEnvironment) {
        self.anchors = anchors
        self.appIDs = appIDs
        self.environment = environment
    }

    /// The clientDataHash of an enrollment (SPEC §6): SHA-256(challenge || SHA-256(CSR DER)).
    public static func enrollmentClientDataHash(challenge: [UInt8], csrDER: [UInt8]) -> [UInt8] {
        Array(SHA256.hash(data: challenge + Array(SHA256.hash(data: csrDER))))
    }

    public func verify(attestationObject: [UInt8], keyID: [UInt8], clientDataHash: [UInt8], at time: Date)
        async throws(AttestationError) -> AppAttestResult
    {
        guard !anchors.isEmpty else {
            throw AttestationError(.unavailable, check: "trust_anchors", "no App Attest root is installed")
        }
        let parsed = try AppAttestObject(attestationObject)
        let certificates = parsed.certificates
        let credential = certificates[0]
        let authData = parsed.authData

        // Step 1: the chain.
        try await verifyChain(certificates, at: time)
        // Steps 2 to 4: the nonce.
        let nonce = Array(SHA256.hash(data: authData.bytes + clientDataHash))
        guard try Self.nonce(of: credential) == nonce else {
            throw .invalid("nonce", "the credential certificate's nonce is not SHA-256(authData || clientDataHash)")
        }
        // Step 5: the key id.
        guard let key = P256.Signing.PublicKey(credential.publicKey) else {
            throw .invalid("key_id", "the credential certificate's key is not a P-256 key")
        }
        guard Array(SHA256.hash(data: key.x963Representation)) == keyID else {
            throw .invalid("key_id", "the key id is not SHA-256 of the credential certificate's public key")
        }
        // Step 6: the app id.
        guard let appID = appIDs.first(where: { Array(SHA256.hash(data: Array($0.utf8))) == authData.rpIDHash }) else {
            throw .invalid("app_id", "the RP ID hash is not SHA-256 of an accepted app id")
        }
        // Step 7: the counter.
        guard authData.counter == 0 else {
            throw .invalid("counter", "the counter of an attestation must be 0, not \(authData.counter)")
        }
        // Step 8: the environment.
        guard let attested = authData.credential else {
            throw .invalid("authenticator_data", "the attested credential data is missing")
        }
        guard attested.aaguid == environment.aaguid else {
            throw .invalid("environment", "the AAGUID is not App Attest's \(environment.rawValue) environment")
        }
        // Step 9: the credential id.
        guard attested.credentialID == keyID else {
            throw .invalid("credential_id", "the credential id is not the key id")
        }
        guard Self.coseKey(attested.publicKey, is: key) else {
            throw .invalid("credential_key", "the credential public key is not the credential certificate's key")
        }
        return AppAttestResult(
            keyID: keyID, appID: appID, environment: environment, publicKey: key, counter: authData.counter,
            receiptSize: parsed.receipt.count)
    }

    /// The 32 bytes of the nonce extension: `SEQUENCE { [1] EXPLICIT OCTET STRING }`.
    public static func nonce(of certificate: Certificate) throws(AttestationError) -> [UInt8] {
        try nonceExtension(certificate)
    }

    static func certificates(_ x5c: [CBORValue]) throws(AttestationError) -> [Certificate] {
        var certificates: [Certificate] = []
        for (index, item) in x5c.enumerated() {
            guard let der = item.byteString else { throw .invalid("chain", "x5c[\(index)] is not a byte string") }
            do { certificates.append(try Certificate(derEncoded: der)) } catch {
                throw .invalid("chain", "x5c[\(index)] is not a certificate this server can read")
            }
        }
        return certificates
    }

    /// RFC 5280 path validation from the credential certificate to an anchor; the signatures are checked once, by
    /// the verifier, and a refused chain is then diagnosed (expiry, order) for the message.
    private func verifyChain(_ certificates: [Certificate], at time: Date) async throws(AttestationError) {
        for index in 0..<(certificates.count - 1) where certificates[index].issuer != certificates[index + 1].subject {
            throw .invalid("chain", "x5c[\(index)] does not name x5c[\(index + 1)] as its issuer (is the order wrong?)")
        }
        for (index, certificate) in certificates.enumerated() {
            if certificate.notValidAfter < time {
                throw .invalid("chain", "x5c[\(index)] expired at \(Self.format(certificate.notValidAfter))")
            }
            if certificate.notValidBefore > time {
                throw .invalid("chain", "x5c[\(index)] is not valid before \(Self.format(certificate.notValidBefore))")
            }
        }
        var verifier = Verifier(rootCertificates: CertificateStore(anchors)) {
            RFC5280Policy(fixedExpiryValidationTime: time)
        }
        let result = await verifier.validate(leaf: certificates[0], intermediates: CertificateStore([certificates[1]]))
        guard case .validCertificate = result else {
            for index in 0..<(certificates.count - 1) {
                let subject = certificates[index]
                let issuer = certificates[index + 1]
                guard subject.issuer == issuer.subject,
                    issuer.publicKey.isValidSignature(subject.signature, for: subject)
                else {
                    throw .invalid("chain", "x5c[\(index)] is not issued by x5c[\(index + 1)] (is the order wrong?)")
                }
            }
            throw .invalid("chain", "the credential certificate does not chain to a trusted App Attest root")
        }
    }

    static func nonceExtension(_ certificate: Certificate) throws(AttestationError) -> [UInt8] {
        guard let ext = certificate.extensions[oid: nonceExtension] else {
            throw .invalid("nonce", "the credential certificate has no nonce extension")
        }
        do {
            let node = try DER.parse(ext.value)
            return try DER.sequence(node, identifier: .sequence) { nodes in
                guard let tagged = nodes.next() else {
                    throw ASN1Error.invalidASN1Object(reason: "empty nonce sequence")
                }
                let octets = try DER.explicitlyTagged(tagged, tagNumber: 1, tagClass: .contextSpecific) {
                    try ASN1OctetString(derEncoded: $0)
                }
                return Array(octets.bytes)
            }
        } catch {
            throw .invalid("nonce", "the nonce extension is malformed")
        }
    }

    /// Whether a COSE EC2 key (kty 2, crv 1) has the coordinates of `key`.
    static func coseKey(_ cose: CBORValue, is key: P256.Signing.PublicKey) -> Bool {
        guard cose[int: 1] == .unsigned(2), cose[int: -1] == .unsigned(1),
            let x = cose[int: -2]?.byteString, let y = cose[int: -3]?.byteString
        else { return false }
        return [0x04] + x + y == Array(key.x963Representation)
    }

    static func format(_ date: Date) -> String {
        ISO8601DateFormatter().string(from: date)
    }
}

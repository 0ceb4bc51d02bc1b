import Crypto
import Foundation
import LatchkeyProtocol
import X509

/// The device's P-256 signing key: it makes CSRs and RFC 9421 signatures and never leaves the key store.
public struct DeviceKey: MessageSigner, Sendable {
    let privateKey: Certificate.PrivateKey
    let sign: @Sendable (Data) throws -> Data

    /// A software key (Linux, the CLI, tests).
    public init(_ key: P256.Signing.PrivateKey) {
        self.privateKey = Certificate.PrivateKey(key)
        self.sign = { data in try key.signature(for: data).rawRepresentation }
    }

    /// Any key swift-certificates can sign with (a Secure Enclave key on Apple platforms), with its raw signer.
    public init(certificateKey: Certificate.PrivateKey, rawSigner: @escaping @Sendable (Data) throws -> Data) {
        self.privateKey = certificateKey
        self.sign = rawSigner
    }

    public var algorithm: SignatureAlgorithm { .ecdsaP256SHA256 }

    public func sign(base: String) throws -> Data { try sign(Data(base.utf8)) }

    /// A PKCS#10 request for this key; the server ignores everything in it but the key.
    public func makeCSR(deviceName: String) throws -> String {
        let name = deviceName.isEmpty ? "device" : String(deviceName.prefix(64))
        return try CertificateSigningRequest(
            version: .v1, subject: try DistinguishedName { CommonName(name) }, privateKey: privateKey,
            attributes: CertificateSigningRequest.Attributes(), signatureAlgorithm: .ecdsaWithSHA256
        ).serializeAsPEM().pemString
    }
}

/// Where a device keeps its private key. Implementations: ``FileKeyStore`` (Linux, CLI) and, on Apple platforms,
/// `SecureEnclaveKeyStore`.
///
/// Renewal uses a pending slot: ``makePendingKey()`` creates a new key beside the current one, and
/// ``promotePendingKey()`` replaces the current key only after the new certificate is stored.
public protocol DeviceKeyStore: Sendable {
    /// The current key, created on first use.
    func currentKey() throws -> DeviceKey
    /// A new key kept beside the current one until promoted.
    func makePendingKey() throws -> DeviceKey
    /// The pending key, if a renewal left one.
    func pendingKey() throws -> DeviceKey?
    /// Makes the pending key current (after its certificate was stored).
    func promotePendingKey() throws
    /// The TLS identity form of the current key (PEM), for presenting the client certificate.
    func tlsPrivateKeyPEM() throws -> String
}

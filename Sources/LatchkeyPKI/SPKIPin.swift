import Crypto
import Foundation
import SwiftASN1
import X509

/// An SPKI pin in the `sha256/BASE64` form used by OkHttp and TrustKit.
///
/// The hash covers the DER encoding of the whole SubjectPublicKeyInfo, so it equals
/// `openssl x509 -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64`.
public struct SPKIPin: Hashable, Sendable, CustomStringConvertible {
    /// The 32 bytes of the SHA-256 digest.
    public let digest: [UInt8]

    /// The pin of a public key.
    public init(publicKey: Certificate.PublicKey) {
        self.digest = Array(SHA256.hash(data: SPKIPin.subjectPublicKeyInfoDER(publicKey)))
    }

    /// The pin of a certificate's public key.
    public init(certificate: Certificate) {
        self.init(publicKey: certificate.publicKey)
    }

    /// Parses `sha256/BASE64`; refuses any other form or a digest that is not 32 bytes.
    public init(_ text: String) throws {
        let prefix = "sha256/"
        guard text.hasPrefix(prefix),
            let data = Data(base64Encoded: String(text.dropFirst(prefix.count))),
            data.count == 32
        else {
            throw PKIError(
                .invalidArgument, "a pin must be 'sha256/' followed by the base64 of a 32-byte SHA-256 digest")
        }
        self.digest = Array(data)
    }

    /// The pin as `sha256/BASE64`.
    public var description: String { "sha256/" + Data(digest).base64EncodedString() }

    /// The DER encoding of a key's whole SubjectPublicKeyInfo (algorithm and key bits).
    public static func subjectPublicKeyInfoDER(_ publicKey: Certificate.PublicKey) -> [UInt8] {
        var serializer = DER.Serializer()
        // Serializing an already-parsed public key cannot fail: the bytes came from a valid SPKI.
        try! serializer.serialize(publicKey)
        return serializer.serializedBytes
    }
}

import LatchkeyPKI
import NIOSSL
import SwiftASN1
import X509

/// The TLS settings of both listeners: TLS 1.2 and 1.3 only, ECDHE with AEAD suites only (forward secrecy), the
/// server certificate and the issuing CA as its chain. The API listener also requires a client certificate that
/// chains to the issuing CA and the root.
enum ServerTLS {
    /// TLS 1.2 suites for an ECDSA server key; TLS 1.3 suites are all AEAD with forward secrecy.
    static let tls12CipherSuites =
        "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305"

    static func nio(_ certificate: Certificate) throws -> NIOSSLCertificate {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        return try NIOSSLCertificate(bytes: serializer.serializedBytes, format: .der)
    }

    static func enrollment(server: ServerIdentity, authority: CertificateAuthority) throws -> TLSConfiguration {
        var configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try nio(server.certificate)), .certificate(try nio(authority.issuing))],
            privateKey: .privateKey(
                try NIOSSLPrivateKey(bytes: Array(try server.key.serializeAsPEM().pemString.utf8), format: .pem)))
        configuration.minimumTLSVersion = .tlsv12
        configuration.maximumTLSVersion = .tlsv13
        configuration.cipherSuites = tls12CipherSuites
        return configuration
    }

    static func api(server: ServerIdentity, authority: CertificateAuthority) throws -> TLSConfiguration {
        var configuration = try enrollment(server: server, authority: authority)
        configuration.certificateVerification = .noHostnameVerification
        configuration.trustRoots = .certificates([try nio(authority.issuing), try nio(authority.root)])
        configuration.sendCANameList = true
        return configuration
    }
}

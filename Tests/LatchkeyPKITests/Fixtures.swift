import Crypto
import Foundation
import LatchkeyPKI
import LatchkeyTestSupport
import X509

/// A CA made once per test process; creating one costs a few milliseconds.
let sharedAuthority: CertificateAuthority = try! CertificateAuthority.create().authority

/// A CSR made in-process for a P-256 key.
func makeCSR(key: Certificate.PrivateKey = Certificate.PrivateKey(P256.Signing.PrivateKey())) throws -> String {
    try CertificateSigningRequest(
        version: .v1, subject: try DistinguishedName { CommonName("device") }, privateKey: key,
        attributes: CertificateSigningRequest.Attributes(), signatureAlgorithm: .ecdsaWithSHA256
    ).serializeAsPEM().pemString
}

/// Writes certificates as PEM files for openssl and returns their paths.
func writePEM(_ certificate: Certificate, _ path: String) throws {
    try certificate.serializeAsPEM().pemString.write(toFile: path, atomically: true, encoding: .utf8)
}

func pkiError(_ body: () throws -> Void) -> PKIError? {
    do {
        try body()
        return nil
    } catch let error as PKIError {
        return error
    } catch {
        return PKIError(.fileError, "unexpected error \(error)")
    }
}

func pkiError(_ body: () async throws -> Void) async -> PKIError? {
    do {
        try await body()
        return nil
    } catch let error as PKIError {
        return error
    } catch {
        return PKIError(.fileError, "unexpected error \(error)")
    }
}

import Crypto
import Foundation
import LatchkeyTestSupport
import SwiftASN1
import Testing
import X509

@testable import LatchkeyPKI

@Suite struct CSRIntakeTests {
    func opensslCSR(_ newkey: [String]) throws -> String {
        try OpenSSL.makeCSR(newkey: newkey, keyPath: try Shell.temporaryDirectory() + "/k.pem")
    }

    func der(_ pem: String) throws -> [UInt8] { try PEMDocument(pemString: pem).derBytes }

    @Test func aFlippedSignatureByteIsRefused() throws {
        for newkey in [["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], ["-newkey", "rsa:2048"]] {
            var bytes = try der(try opensslCSR(newkey))
            bytes[bytes.count - 1] ^= 0x01
            #expect(pkiError { _ = try CSRIntake.accept(der: bytes) }?.code == .csrSignatureInvalid)
        }
    }

    @Test func aSignatureOverOtherContentIsRefused() throws {
        // The signature of one request attached to the info of another: it parses, but proves nothing.
        let first = try CertificateSigningRequest(derEncoded: try der(try makeCSR()))
        let second = try CertificateSigningRequest(derEncoded: try der(try makeCSR()))
        let forged = try CertificateSigningRequest(
            version: first.version, subject: first.subject, publicKey: first.publicKey, attributes: first.attributes,
            signatureAlgorithm: second.signatureAlgorithm, signature: second.signature)
        let pem = try forged.serializeAsPEM().pemString
        let error = pkiError { _ = try CSRIntake.accept(pem: pem) }
        #expect(error?.code == .csrSignatureInvalid)
        #expect(error?.message.contains("proof of possession") == true)
    }

    @Test func aTruncatedCSRIsRefused() throws {
        let bytes = try der(try makeCSR())
        #expect(pkiError { _ = try CSRIntake.accept(der: Array(bytes.prefix(bytes.count / 2))) }?.code == .csrInvalid)
    }

    @Test func randomBytesAreRefused() {
        var generator = SystemRandomNumberGenerator()
        for length in [1, 17, 300, 2000] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0 ... .max, using: &generator) }
            #expect(pkiError { _ = try CSRIntake.accept(bytes) }?.code == .csrInvalid)
        }
        #expect(pkiError { _ = try CSRIntake.accept([]) }?.code == .csrInvalid)
        #expect(pkiError { _ = try CSRIntake.accept(pem: "hello") }?.code == .csrInvalid)
    }

    @Test func aCertificateInsteadOfACSRIsRefused() throws {
        let pem = try sharedAuthority.root.serializeAsPEM().pemString
        let error = pkiError { _ = try CSRIntake.accept(pem: pem) }
        #expect(error?.code == .csrInvalid)
        #expect(error?.message.contains("CERTIFICATE") == true)
    }

    @Test func anEd25519KeyIsRefused() throws {
        let error = pkiError { _ = try CSRIntake.accept(pem: try opensslCSR(["-newkey", "ed25519"])) }
        #expect(error?.code == .csrKeyUnsupported)
        #expect(error?.message.contains("Ed25519") == true)
    }

    @Test func anRSA1024KeyIsRefused() throws {
        let error = pkiError { _ = try CSRIntake.accept(pem: try opensslCSR(["-newkey", "rsa:1024"])) }
        #expect(error?.code == .csrKeyUnsupported)
        #expect(error?.message.contains("1024") == true)
    }

    @Test func aP521KeyIsRefused() throws {
        let error = pkiError {
            _ = try CSRIntake.accept(pem: try opensslCSR(["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-521"]))
        }
        #expect(error?.code == .csrKeyUnsupported)
    }

    @Test func pemAndDerAreBothAccepted() throws {
        let pem = try makeCSR()
        #expect(try CSRIntake.accept(Array(pem.utf8)).keyDescription == "EC P-256")
        #expect(try CSRIntake.accept(try der(pem)).keyDescription == "EC P-256")
    }
}

@Suite struct PEMTests {
    @Test func encodingMatchesSwiftASN1AndDecodingRoundTrips() throws {
        for length in [0, 1, 2, 3, 47, 48, 49, 700, 1000] {
            let der = (0..<length).map { UInt8(truncatingIfNeeded: $0 &* 37 &+ 11) }
            let ours = PEM.encode(der, label: "CERTIFICATE")
            let reference = PEMDocument(type: "CERTIFICATE", derBytes: der).pemString + "\n"
            #expect(ours == reference, "length \(length)")
            let decoded = try #require(PEM.decode("junk before\n" + ours + "after"))
            #expect(decoded.label == "CERTIFICATE")
            #expect(decoded.der == der)
        }
        #expect(PEM.decode("-----BEGIN X-----\n!!!!\n-----END X-----\n") == nil)
        #expect(PEM.decode("no pem here") == nil)
    }
}

@Suite struct KeyIdentifierTests {
    /// The key identifier read from a CSR's bytes equals swift-certificates' RFC 5280 method 1 over the parsed key,
    /// for EC and RSA requests made by openssl.
    @Test func theCSRKeyIdentifierMatchesTheHashOfTheParsedKey() throws {
        for newkey in [
            ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"], ["-newkey", "rsa:2048"],
        ] {
            let directory = try Shell.temporaryDirectory("ski")
            let pem = try OpenSSL.makeCSR(newkey: newkey, keyPath: directory + "/k.pem")
            let accepted = try CSRIntake.accept(pem: pem)
            #expect(accepted.keyIdentifier == SubjectKeyIdentifier(hash: accepted.publicKey), "\(newkey)")
        }
    }

    /// The SubjectPublicKeyInfo taken from a CSR's own point equals swift-certificates' serialization of the parsed
    /// key, for EC and RSA requests made by openssl and by swift-certificates.
    @Test func theCSRSubjectPublicKeyInfoMatchesTheSerializedKey() throws {
        var pems: [String] = []
        for newkey in [
            ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"],
            ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"], ["-newkey", "rsa:2048"],
        ] {
            pems.append(try OpenSSL.makeCSR(newkey: newkey, keyPath: try Shell.temporaryDirectory("spki") + "/k.pem"))
        }
        pems.append(try makeCSR())
        for pem in pems {
            let accepted = try CSRIntake.accept(pem: pem)
            #expect(accepted.subjectPublicKeyInfo == SPKIPin.subjectPublicKeyInfoDER(accepted.publicKey), "\(pem)")
        }
    }

    /// Only an uncompressed point of its curve's length is copied into the certificate; anything else (a hybrid
    /// point, a point of another curve's length, no bits) is serialized from the parsed key, so the certificate always
    /// carries what swift-certificates would write.
    @Test func onlyAnUncompressedPointOfItsCurvesLengthIsCopied() {
        let key = P256.Signing.PrivateKey().publicKey
        let parsed = Certificate.PublicKey(key)
        let canonical = SPKIPin.subjectPublicKeyInfoDER(parsed)
        let point = Array(key.x963Representation)
        var hybrid = point
        hybrid[0] = 0x06 | (point[64] & 1)
        #expect(CSRIntake.subjectPublicKeyInfo(parsed, keyDescription: "EC P-256", bits: point[...]) == canonical)
        #expect(CSRIntake.subjectPublicKeyInfo(parsed, keyDescription: "EC P-256", bits: hybrid[...]) == canonical)
        #expect(CSRIntake.subjectPublicKeyInfo(parsed, keyDescription: "EC P-384", bits: point[...]) == canonical)
        #expect(CSRIntake.subjectPublicKeyInfo(parsed, keyDescription: "EC P-256", bits: point.dropLast()) == canonical)
        #expect(CSRIntake.subjectPublicKeyInfo(parsed, keyDescription: "EC P-256", bits: nil) == canonical)
    }
}

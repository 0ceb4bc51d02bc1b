import Crypto
import Foundation
import LatchkeyPKI
import LatchkeyTestSupport
import Testing
import X509

@Suite struct IssuanceTests {
    let policy = try! IssuancePolicy()

    /// Issues a certificate for an openssl-made CSR and checks it with `openssl verify -purpose sslclient`.
    func issueAndVerifyWithOpenSSL(newkey: [String]) throws -> (directory: String, certificate: Certificate) {
        let directory = try Shell.temporaryDirectory()
        let pem = try OpenSSL.makeCSR(newkey: newkey, keyPath: directory + "/device.key")
        let accepted = try CSRIntake.accept(pem: pem)
        let certificate = try policy.issue(
            publicKey: accepted.publicKey, deviceID: "dev-1", userID: "user-1", authority: sharedAuthority)
        try writePEM(certificate, directory + "/leaf.pem")
        try writePEM(sharedAuthority.root, directory + "/root.pem")
        try writePEM(sharedAuthority.issuing, directory + "/issuing.pem")
        let verify = try Shell.run([
            "openssl", "verify", "-purpose", "sslclient", "-CAfile", directory + "/root.pem", "-untrusted",
            directory + "/issuing.pem", directory + "/leaf.pem",
        ])
        #expect(verify.status == 0, "openssl verify: \(verify.stdout) \(verify.stderr)")
        #expect(verify.stdout.contains("leaf.pem: OK"))
        return (directory, certificate)
    }

    @Test func opensslP256CSRIsAcceptedAndTheCertificateVerifiesAsClient() throws {
        let (directory, _) = try issueAndVerifyWithOpenSSL(newkey: [
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
        ])
        let extensions = try OpenSSL.extensions(ofCertificateAt: directory + "/leaf.pem")
        #expect(
            Set(extensions.keys) == [
                "X509v3 Basic Constraints: critical", "X509v3 Key Usage: critical", "X509v3 Extended Key Usage:",
                "X509v3 Subject Alternative Name:", "X509v3 Subject Key Identifier:",
                "X509v3 Authority Key Identifier:", "X509v3 Certificate Policies:",
            ])
        // A device enrolled with password and code only: the oob assurance (SPEC §6).
        #expect(extensions["X509v3 Certificate Policies:"] == "Policy: 2.25.121864525680986129093631145990636674922.1")
        #expect(extensions["X509v3 Basic Constraints: critical"] == "CA:FALSE")
        #expect(extensions["X509v3 Key Usage: critical"] == "Digital Signature")
        #expect(extensions["X509v3 Extended Key Usage:"] == "TLS Web Client Authentication")
        #expect(
            extensions["X509v3 Subject Alternative Name:"]
                == "URI:urn:latchkey:device:dev-1, URI:urn:latchkey:user:user-1")
        let subject = try OpenSSL.run(["x509", "-in", directory + "/leaf.pem", "-noout", "-subject"]).stdout
        #expect(subject.trimmingCharacters(in: .whitespacesAndNewlines) == "subject=CN = dev-1")
    }

    @Test func opensslRSA2048CSRIsAccepted() throws {
        let (_, certificate) = try issueAndVerifyWithOpenSSL(newkey: ["-newkey", "rsa:2048"])
        #expect(_RSAKeyBits(certificate) == 2048)
    }

    @Test func opensslP384CSRIsAccepted() throws {
        _ = try issueAndVerifyWithOpenSSL(newkey: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-384"])
    }

    @Test func everythingTheCSRAsksForIsIgnored() throws {
        let directory = try Shell.temporaryDirectory()
        let pem = try OpenSSL.makeCSR(
            newkey: ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"], keyPath: directory + "/k.pem",
            extra: [
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext",
                "subjectAltName=DNS:bank.example,URI:urn:latchkey:user:admin,email:evil@example.com", "-addext",
                "extendedKeyUsage=serverAuth,codeSigning", "-addext", "keyUsage=keyCertSign",
            ])
        let accepted = try CSRIntake.accept(pem: pem)
        let certificate = try policy.issue(
            publicKey: accepted.publicKey, deviceID: "dev-2", userID: "user-2", authority: sharedAuthority)
        #expect(try certificate.extensions.basicConstraints == .notCertificateAuthority)
        let names = try #require(try certificate.extensions.subjectAlternativeNames)
        #expect(
            Array(names) == [
                .uniformResourceIdentifier("urn:latchkey:device:dev-2"),
                .uniformResourceIdentifier("urn:latchkey:user:user-2"),
            ])
        #expect(try certificate.extensions.extendedKeyUsage == (try ExtendedKeyUsage([.clientAuth])))
        #expect(try certificate.extensions.keyUsage == KeyUsage(digitalSignature: true))
        #expect(certificate.subject.description == "CN=dev-2")
    }

    @Test func lifetimeComesFromConfigurationAndNotBeforeIsBackdated() throws {
        let now = Date(timeIntervalSince1970: 1_900_000_000)
        let custom = try IssuancePolicy(lifetime: 3600, backdate: 120)
        let certificate = try custom.issue(
            publicKey: try CSRIntake.accept(pem: makeCSR()).publicKey, deviceID: "d", userID: "u",
            authority: try CertificateAuthority.create(now: now).authority, now: now)
        #expect(certificate.notValidAfter == now.addingTimeInterval(3600))
        #expect(certificate.notValidBefore == now.addingTimeInterval(-120))
        #expect(try IssuancePolicy().lifetime == 7 * 86_400)
        #expect(pkiError { _ = try IssuancePolicy(lifetime: 0) }?.code == .invalidArgument)
    }

    @Test func identifiersThatWouldBreakTheURIAreRefused() throws {
        let key = try CSRIntake.accept(pem: makeCSR()).publicKey
        let error = pkiError {
            _ = try policy.issue(publicKey: key, deviceID: "a,URI:urn:x", userID: "u", authority: sharedAuthority)
        }
        #expect(error?.code == .invalidArgument)
    }

    @Test func tenThousandSerialsAreDistinctPositiveAndAtLeast64Bits() async throws {
        let key = try CSRIntake.accept(pem: makeCSR()).publicKey
        let policy = self.policy
        let serials = try await withThrowingTaskGroup(of: [Certificate.SerialNumber].self) { group in
            for _ in 0..<2 {
                group.addTask {
                    try (0..<5_000).map { _ in
                        try policy.issue(publicKey: key, deviceID: "d", userID: "u", authority: sharedAuthority)
                            .serialNumber
                    }
                }
            }
            return try await group.reduce(into: []) { $0 += $1 }
        }
        #expect(serials.count == 10_000)
        #expect(Set(serials).count == 10_000)
        for serial in serials {
            let bytes = Array(serial.bytes)
            #expect(bytes[0] & 0x80 == 0, "negative serial")
            #expect(bytes.count * 8 - bytes[0].leadingZeroBitCount >= 64)
        }
    }
}

func _RSAKeyBits(_ certificate: Certificate) -> Int? {
    let text = try? OpenSSL.run(
        ["x509", "-noout", "-text"], stdin: Data(try! certificate.serializeAsPEM().pemString.utf8))
    guard let line = text?.stdout.split(separator: "\n").first(where: { $0.contains("Public-Key: (") }) else {
        return nil
    }
    return Int(line.split(separator: "(")[1].split(separator: " ")[0])
}

/// Issue 17: device certificates encoded from the prepared DER template are the certificates swift-certificates makes.
@Suite struct DeviceCertificateTemplateTests {
    let policy = try! IssuancePolicy()

    /// For every key type, assurance and the 2050 switch from UTCTime to GeneralizedTime (with fractional seconds in
    /// the clock), the template's to-be-signed bytes equal swift-certificates' for the same serial, and the signature
    /// verifies with the issuing key.
    @Test func theTemplateWritesWhatSwiftCertificatesWrites() throws {
        let rsaCSR = try OpenSSL.makeCSR(
            newkey: ["-newkey", "rsa:2048"], keyPath: try Shell.temporaryDirectory() + "/rsa.key")
        let csrs = [
            try makeCSR(), try makeCSR(key: Certificate.PrivateKey(P384.Signing.PrivateKey())), rsaCSR,
        ].map { try! CSRIntake.accept(pem: $0) }
        let instants: [(issuedAt: Date, caCreatedAt: Date)] = [
            (Date(), Date()),
            (Date(timeIntervalSince1970: 2_524_607_999.75), Date(timeIntervalSince1970: 2_524_000_000)),  // 2049-12-31
            (Date(timeIntervalSince1970: 2_524_608_000.5), Date(timeIntervalSince1970: 2_524_000_000)),  // 2050-01-01
        ]
        var compared = 0
        for (issuedAt, caCreatedAt) in instants {
            let authority = try CertificateAuthority.create(now: caCreatedAt).authority
            for csr in csrs {
                for assurance in DeviceAssurance.allCases {
                    let deviceID = "dev-" + UUID().uuidString.lowercased()
                    let serial = SerialNumberGenerator.random()
                    let expected = try policy.issue(
                        publicKey: csr.publicKey, keyIdentifier: csr.keyIdentifier, deviceID: deviceID, userID: "user_1.a", assurance: assurance, authority: authority,
                        now: issuedAt, serialNumber: serial)
                    let encoded = try policy.issueEncoded(
                        csr, deviceID: deviceID, userID: "user_1.a", assurance: assurance, authority: authority,
                        now: issuedAt, serialNumber: serial)
                    let parsed = try encoded.certificate()
                    let same = parsed.tbsCertificateBytes == expected.tbsCertificateBytes
                    #expect(same, "\(assurance) at \(issuedAt): \(encoded.pem)")
                    #expect(authority.issuing.publicKey.isValidSignature(parsed.signature, for: parsed))
                    #expect(parsed.signatureAlgorithm == expected.signatureAlgorithm)
                    let reference = try IssuedCertificate(expected)
                    #expect(encoded.serialHex == reference.serialHex)
                    #expect(encoded.notValidBefore == reference.notValidBefore)
                    #expect(encoded.notValidAfter == reference.notValidAfter)
                    #expect(encoded.spkiSHA256 == reference.spkiSHA256)
                    compared += 1
                }
            }
        }
        #expect(compared == 3 * 3 * DeviceAssurance.allCases.count)
    }

    /// A template certificate verifies with `openssl verify -purpose sslclient` under the CA.
    @Test func aTemplateCertificateVerifiesWithOpenSSL() throws {
        let directory = try Shell.temporaryDirectory()
        let accepted = try CSRIntake.accept(pem: try makeCSR())
        let issued = try policy.issueEncoded(
            accepted, deviceID: "dev-1", userID: "user-1", assurance: .appleAppAttest, authority: sharedAuthority)
        try issued.pem.write(toFile: directory + "/leaf.pem", atomically: true, encoding: .utf8)
        try writePEM(sharedAuthority.root, directory + "/root.pem")
        try writePEM(sharedAuthority.issuing, directory + "/issuing.pem")
        let verify = try Shell.run([
            "openssl", "verify", "-purpose", "sslclient", "-CAfile", directory + "/root.pem", "-untrusted",
            directory + "/issuing.pem", directory + "/leaf.pem",
        ])
        #expect(verify.stdout.contains("leaf.pem: OK"), "\(verify.stdout) \(verify.stderr)")
    }
}

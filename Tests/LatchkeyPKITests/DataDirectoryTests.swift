import Foundation
import LatchkeyPKI
import LatchkeyTestSupport
import Testing
import X509

@Suite struct DataDirectoryTests {
    @Test func initCreatesTheFilesWithPrivateKeysOwnerOnly() throws {
        let directory = DataDirectory(path: try Shell.temporaryDirectory())
        let material = try directory.initializePKI(hostnames: ["api.bank.test", "127.0.0.1", "::1"])
        for path in [directory.rootKeyPath, directory.issuingKeyPath, directory.serverKeyPath, directory.backupKeyPath]
        {
            #expect(SecureFile.mode(of: path) == 0o600, "\(path)")
        }
        let authority = try directory.loadAuthority()
        #expect(authority.root == material.authority.root)
        #expect(authority.issuing == material.authority.issuing)
        let server = try directory.loadServerIdentity()
        #expect(server.pins == material.server.pins)
        #expect(server.pins[0] != server.pins[1])
    }

    @Test func initRefusesToOverwriteAnExistingCA() throws {
        let directory = DataDirectory(path: try Shell.temporaryDirectory())
        let first = try directory.initializePKI()
        #expect(pkiError { _ = try directory.initializePKI() }?.code == .caAlreadyExists)
        #expect(try directory.loadAuthority().root == first.authority.root)
    }

    @Test func aKeyFileReadableByOthersIsRefused() throws {
        let directory = DataDirectory(path: try Shell.temporaryDirectory())
        _ = try directory.initializePKI()
        chmod(directory.issuingKeyPath, 0o644)
        let error = pkiError { _ = try directory.loadAuthority() }
        #expect(error?.code == .keyFileInsecure)
        #expect(error?.message.contains("644") == true)
    }

    @Test func theCAProfileMatchesTheSpec() throws {
        let directory = DataDirectory(path: try Shell.temporaryDirectory())
        _ = try directory.initializePKI()
        let root = try OpenSSL.extensions(ofCertificateAt: directory.rootCertificatePath)
        #expect(root["X509v3 Basic Constraints: critical"] == "CA:TRUE, pathlen:1")
        #expect(root["X509v3 Key Usage: critical"] == "Certificate Sign, CRL Sign")
        let issuing = try OpenSSL.extensions(ofCertificateAt: directory.issuingCertificatePath)
        #expect(issuing["X509v3 Basic Constraints: critical"] == "CA:TRUE, pathlen:0")
        let server = try OpenSSL.extensions(ofCertificateAt: directory.serverCertificatePath)
        #expect(server["X509v3 Extended Key Usage:"] == "TLS Web Server Authentication")
        #expect(server["X509v3 Subject Alternative Name:"] == "DNS:localhost, IP Address:127.0.0.1")
        let verify = try Shell.run([
            "openssl", "verify", "-purpose", "sslserver", "-CAfile", directory.rootCertificatePath, "-untrusted",
            directory.issuingCertificatePath, directory.serverCertificatePath,
        ])
        #expect(verify.status == 0, "\(verify.stderr)")
        let years = { (path: String) throws -> Double in
            let c = try Certificate(pemEncoded: try SecureFile.readPublic(path))
            return c.notValidAfter.timeIntervalSince(c.notValidBefore) / (365.25 * 86_400)
        }
        #expect(abs(try years(directory.rootCertificatePath) - 10) < 0.01)
        #expect(abs(try years(directory.issuingCertificatePath) - 5) < 0.01)
    }

    @Test func pinsMatchTheOpenSSLPipeline() throws {
        let directory = DataDirectory(path: try Shell.temporaryDirectory())
        _ = try directory.initializePKI()
        let pubkey = try OpenSSL.run(["x509", "-in", directory.serverCertificatePath, "-pubkey", "-noout"]).stdoutData
        let der = try OpenSSL.run(["pkey", "-pubin", "-outform", "der"], stdin: pubkey).stdoutData
        let digest = try OpenSSL.run(["dgst", "-sha256", "-binary"], stdin: der).stdoutData
        let expected = "sha256/" + digest.base64EncodedString()
        #expect(try directory.loadServerIdentity().pins[0].description == expected)
        #expect(try SPKIPin(expected).description == expected)
        #expect(pkiError { _ = try SPKIPin("sha1/abc") }?.code == .invalidArgument)
    }
}

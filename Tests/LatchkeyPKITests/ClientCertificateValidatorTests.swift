import Crypto
import Foundation
import LatchkeyPKI
import Testing
import X509

@Suite struct ClientCertificateValidatorTests {
    let validator = ClientCertificateValidator(authority: sharedAuthority)
    let now = Date()

    func deviceCertificate(
        authority: CertificateAuthority = sharedAuthority, lifetime: TimeInterval = 7 * 86_400
    ) throws -> Certificate {
        try IssuancePolicy(lifetime: lifetime).issue(
            publicKey: try CSRIntake.accept(pem: makeCSR()).publicKey, deviceID: "dev-9", userID: "user-9",
            authority: authority, now: now)
    }

    @Test func aValidChainNamesTheDevice() async throws {
        let leaf = try deviceCertificate()
        let identity = try await validator.validate(chain: [leaf, sharedAuthority.issuing], at: now)
        #expect(identity.deviceID == "dev-9")
        #expect(identity.userID == "user-9")
        #expect(identity.serial == SerialNumberGenerator.hex(leaf.serialNumber))
        #expect(identity.notAfter == leaf.notValidAfter)
    }

    @Test func anotherCAsCertificateIsRefused() async throws {
        let other = try CertificateAuthority.create().authority
        let leaf = try deviceCertificate(authority: other)
        let error = await pkiError { _ = try await validator.validate(chain: [leaf, other.issuing], at: now) }
        #expect(error?.code == .certificateUntrusted)
    }

    @Test func anExpiredCertificateIsRefused() async throws {
        let leaf = try deviceCertificate(lifetime: 3600)
        let later = now.addingTimeInterval(7200)
        let error = await pkiError {
            _ = try await validator.validate(chain: [leaf, sharedAuthority.issuing], at: later)
        }
        #expect(error?.code == .certificateExpired)
        // The same certificate passes at a time inside its validity: the clock is what refused it.
        _ = try await validator.validate(chain: [leaf, sharedAuthority.issuing], at: now)
    }

    @Test func aServerCertificateIsRefused() async throws {
        let key = ServerCertificateIssuer.makeKey()
        let server = try ServerCertificateIssuer().issue(
            hostnames: ["localhost"], publicKey: key.publicKey, authority: sharedAuthority, now: now)
        let error = await pkiError {
            _ = try await validator.validate(chain: [server, sharedAuthority.issuing], at: now)
        }
        #expect(error?.code == .certificateNotForClientAuth)
    }

    @Test func aChainWithoutTheIssuingCAIsRefused() async throws {
        let leaf = try deviceCertificate()
        let error = await pkiError { _ = try await validator.validate(chain: [leaf], at: now) }
        #expect(error?.code == .certificateUntrusted)
        let error2 = await pkiError { _ = try await validator.validate(chain: [leaf, sharedAuthority.root], at: now) }
        #expect(error2?.code == .certificateUntrusted)
    }

    @Test func noCertificateIsRefused() async {
        #expect(await pkiError { _ = try await validator.validate(chain: [], at: now) }?.code == .certificateUntrusted)
    }
}

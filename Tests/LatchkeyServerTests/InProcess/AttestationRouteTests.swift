import Crypto
import Foundation
import HTTPTypes
import LatchkeyAttestation
import LatchkeyClient
import LatchkeyPKI
import LatchkeyProtocol
import LatchkeyServer
import LatchkeyTestSupport
import Testing
import X509

/// Attested enrollment through the applications in process (SPEC §6), with attestations made under a test root:
/// the policy, the binding to this enrollment's challenge and CSR, the assurance in the certificate and the API,
/// key ids enrolled once, the Android revocation list failing closed, and App Attest assertions on signed requests.
@Suite struct AttestationRouteTests {
    static let appID = "ABCDE12345.com.example.bank"
    static let package = "com.example.bank"
    static let digest = Array(SHA256.hash(data: Array("bank signing certificate".utf8)))

    /// A server that trusts `simulator`'s root, with a fresh revocation list at `revocations`.
    struct Attested {
        let simulator: AttestationSimulator
        let revocationsPath: String
        let authority: AttestationAuthority
    }

    static func attested(mode: AttestationMode = .required, transfersRequireAttestation: Bool = true) throws -> Attested {
        let simulator = try AttestationSimulator()
        let path = try Shell.temporaryDirectory("attestation") + "/android-status.json"
        try Data(#"{"entries": {"1234": {"status": "REVOKED"}}}"#.utf8).write(to: URL(fileURLWithPath: path))
        var settings = AttestationSettings()
        settings.mode = mode
        settings.appleAppIDs = [appID]
        settings.androidPackages = [AndroidPackageRule(name: package, signingDigest: digest)]
        settings.transfersRequireAttestation = transfersRequireAttestation
        let authority = AttestationAuthority(
            settings: settings, anchors: AttestationTrustAnchors(extraRoots: [simulator.root]),
            androidRevocationsPath: path)
        return Attested(simulator: simulator, revocationsPath: path, authority: authority)
    }

    static func settings(_ attested: Attested) -> ServerSettings {
        var settings = ServerSettings()
        settings.attestation = attested.authority.settings
        return settings
    }

    /// Starts an enrollment; returns its id, challenge and code.
    static func begin(_ c: Clients, _ user: (username: String, password: String, phone: String)) async throws
        -> (id: String, challenge: [UInt8], code: String)
    {
        let started = try await c.start(user)
        let id = try #require(started.json?["enrollment_id"] as? String)
        let challenge = try #require((started.json?["attestation_challenge"] as? String).flatMap { Data(base64Encoded: $0) })
        #expect(challenge.count == 32)
        return (id, Array(challenge), try c.server.code(to: user.phone))
    }

    static func complete(_ c: Clients, _ id: String, code: String, csr: String, attestation: AttestationPayload?)
        async throws -> Answer
    {
        var body: [String: Any] = ["code": code, "csr": csr]
        if let attestation {
            let encoded = try JSONSerialization.jsonObject(with: JSONEncoder().encode(attestation))
            body["attestation"] = encoded
        }
        return try await c.send(c.enroll, .post, "/v1/enrollments/\(id)/complete", body: c.json(body))
    }

    static func device(_ answer: Answer, key: DeviceKey) throws -> InProcessDevice {
        let pem = try #require(answer.json?["certificate"] as? String, "\(answer.text)")
        return InProcessDevice(
            key: key, certificateDER: Data(PEM.decode(pem)?.der ?? []), deviceID: answer.json?["device_id"] as? String ?? "")
    }

    static func assurance(of device: InProcessDevice) throws -> DeviceAssurance? {
        DeviceAssurance.stated(in: try Certificate(derEncoded: Array(device.certificateDER)))
    }

    // MARK: Scenarios

    /// App Attest: required, bound, stated, enrolled once, asserted on every signed request.
    static func appAttest(_ c: Clients, _ attested: Attested) async throws {
        let user = try await c.server.addUser()
        let key = DeviceKey(P256.Signing.PrivateKey())
        let csr = try key.makeCSR(deviceName: "phone")
        let csrDER = try #require(PEM.decode(csr)?.der)
        let attestKey = P256.Signing.PrivateKey()
        let (id, challenge, code) = try await begin(c, user)
        func attestation(challenge: [UInt8], csrDER: [UInt8]) throws -> AttestationPayload {
            let made = try attested.simulator.appAttest(
                attestKey: attestKey, appID: appID, environment: .production,
                clientDataHash: AppAttestVerifier.enrollmentClientDataHash(challenge: challenge, csrDER: csrDER),
                now: c.server.clock.now)
            return .apple(keyID: made.keyID, attestationObject: made.object)
        }
        // Refusals leave the enrollment pending: none given, an unknown format, another CSR, another challenge.
        #expect(try await complete(c, id, code: code, csr: csr, attestation: nil).code == .attestationRequired)
        #expect(
            try await complete(c, id, code: code, csr: csr, attestation: AttestationPayload(format: "tpm")).code
                == .attestationUnsupported)
        let otherCSR = try #require(PEM.decode(try DeviceKey(P256.Signing.PrivateKey()).makeCSR(deviceName: "x"))?.der)
        let rebound = try await complete(
            c, id, code: code, csr: csr, attestation: try attestation(challenge: challenge, csrDER: otherCSR))
        #expect(rebound.code == .attestationInvalid && (rebound.json?["message"] as? String)?.hasPrefix("nonce:") == true)
        #expect(
            try await complete(
                c, id, code: code, csr: csr,
                attestation: try attestation(challenge: Array(repeating: 0, count: 32), csrDER: csrDER)
            ).code == .attestationInvalid)
        // The code is still checked first.
        #expect(
            try await complete(
                c, id, code: code == "00000000" ? "11111111" : "00000000", csr: csr,
                attestation: try attestation(challenge: challenge, csrDER: csrDER)
            ).code == .codeInvalid)
        let enrolled = try await complete(
            c, id, code: code, csr: csr, attestation: try attestation(challenge: challenge, csrDER: csrDER))
        #expect(enrolled.status == .created, "\(enrolled.text)")
        let device = try device(enrolled, key: key)
        #expect(try assurance(of: device) == .appleAppAttest)
        #expect(try await c.call(device, .get, "/v1/me").json?["assurance"] as? String == "apple-app-attest")
        #expect(try await c.call(device, .get, "/v1/devices").array?.first?["assurance"] as? String == "apple-app-attest")

        // The same App Attest key for a second enrollment.
        let second = try await begin(c, user)
        let otherKey = DeviceKey(P256.Signing.PrivateKey())
        let otherCSRText = try otherKey.makeCSR(deviceName: "again")
        let reused = try await complete(
            c, second.id, code: second.code, csr: otherCSRText,
            attestation: try attestation(
                challenge: second.challenge, csrDER: try #require(PEM.decode(otherCSRText)?.der)))
        #expect(reused.code == .attestationReused, "\(reused.text)")

        // Assertions on signed requests: missing, over another request, then accepted, then replayed.
        let from = try #require(try await c.accounts(device).first?["id"] as? String)
        let body = try c.transferBody(from: from)
        #expect(try await c.signed(device, .post, "/v1/transfers", body: body).code == .assertionInvalid)
        func assertion(_ counter: UInt32) -> (String) throws -> [UInt8] {
            { base in
                try AttestationSimulator.assertion(
                    attestKey: attestKey, appID: appID, counter: counter, clientData: Array(base.utf8))
            }
        }
        let elsewhere: (String) throws -> [UInt8] = { _ in
            try AttestationSimulator.assertion(attestKey: attestKey, appID: appID, counter: 9, clientData: [1])
        }
        #expect(try await c.signed(device, .post, "/v1/transfers", body: body, assertion: elsewhere).code == .assertionInvalid)
        let moved = try await c.signed(device, .post, "/v1/transfers", body: body, assertion: assertion(1))
        #expect(moved.status == .created, "\(moved.text)")
        #expect(
            try await c.signed(device, .post, "/v1/transfers", body: body, assertion: assertion(1)).code
                == .assertionInvalid)
        #expect(try await c.signed(device, .post, "/v1/transfers", body: body, assertion: assertion(2)).status == .created)

        // Renewal keeps the assurance.
        let renewed = try await c.call(
            device, .post, "/v1/certificates/renew", body: c.json(["csr": try key.makeCSR(deviceName: "phone")]))
        #expect(try assurance(of: try Self.device(renewed, key: key)) == .appleAppAttest)
    }

    /// Android: the leaf key must be the CSR's, StrongBox is told apart, and the revocation list fails closed.
    static func androidKey(_ c: Clients, _ attested: Attested) async throws {
        let user = try await c.server.addUser()
        let key = P256.Signing.PrivateKey()
        let csr = try DeviceKey(key).makeCSR(deviceName: "pixel")
        var claims = AttestationSimulator.AndroidClaims(package: package, signatureDigest: digest)
        func chain(_ challenge: [UInt8], key: P256.Signing.PublicKey = key.publicKey) throws -> AttestationPayload {
            .android(chain: try attested.simulator.androidChain(
                publicKey: Certificate.PublicKey(key), challenge: challenge, claims: claims, now: c.server.clock.now))
        }
        let (id, challenge, code) = try await begin(c, user)
        let otherKey = try await complete(
            c, id, code: code, csr: csr, attestation: try chain(challenge, key: P256.Signing.PrivateKey().publicKey))
        #expect(otherKey.code == .attestationInvalid && (otherKey.json?["message"] as? String)?.hasPrefix("key:") == true)
        claims.bootState = .unverified
        #expect(try await complete(c, id, code: code, csr: csr, attestation: try chain(challenge)).code == .attestationInvalid)
        claims.bootState = .verified
        let tee = try await complete(c, id, code: code, csr: csr, attestation: try chain(challenge))
        #expect(tee.status == .created, "\(tee.text)")
        let device = try device(tee, key: DeviceKey(key))
        #expect(try assurance(of: device) == .androidTEE)
        #expect(try await c.call(device, .get, "/v1/me").json?["assurance"] as? String == "android-tee")
        // Renewal: the attestation covered this key, so a new one cannot keep the assurance; the same key can.
        let newKey = try await c.call(
            device, .post, "/v1/certificates/renew",
            body: c.json(["csr": try DeviceKey(P256.Signing.PrivateKey()).makeCSR(deviceName: "pixel")]))
        #expect(newKey.code == .attestationRequired, "\(newKey.text)")
        let same = try await c.call(device, .post, "/v1/certificates/renew", body: c.json(["csr": csr]))
        #expect(try assurance(of: try Self.device(same, key: DeviceKey(key))) == .androidTEE)

        claims.securityLevel = .strongBox
        let strongKey = P256.Signing.PrivateKey()
        let next = try await begin(c, user)
        let strongBox = try await complete(
            c, next.id, code: next.code, csr: try DeviceKey(strongKey).makeCSR(deviceName: "pixel"),
            attestation: try chain(next.challenge, key: strongKey.publicKey))
        #expect(try assurance(of: try Self.device(strongBox, key: DeviceKey(strongKey))) == .androidStrongBox)

        // A revocation list that is gone, or too old, refuses (after the 10 s the server caches it).
        try FileManager.default.removeItem(atPath: attested.revocationsPath)
        c.server.clock.advance(by: 11)
        let third = try await begin(c, user)
        let lateKey = P256.Signing.PrivateKey()
        let unavailable = try await complete(
            c, third.id, code: third.code, csr: try DeviceKey(lateKey).makeCSR(deviceName: "pixel"),
            attestation: try chain(third.challenge, key: lateKey.publicKey))
        #expect(unavailable.code == .attestationUnavailable, "\(unavailable.text)")
        try Data(#"{"entries": {}}"#.utf8).write(to: URL(fileURLWithPath: attested.revocationsPath))
        c.server.clock.advance(by: 11)
        let fourth = try await begin(c, user)
        let fresh = try await complete(
            c, fourth.id, code: fourth.code, csr: try DeviceKey(lateKey).makeCSR(deviceName: "pixel"),
            attestation: try chain(fourth.challenge, key: lateKey.publicKey))
        #expect(fresh.status == .created, "\(fresh.text)")
        c.server.clock.advance(by: 49 * 3600)
        let staleKey = P256.Signing.PrivateKey()
        let fifth = try await begin(c, user)
        let stale = try await complete(
            c, fifth.id, code: fifth.code, csr: try DeviceKey(staleKey).makeCSR(deviceName: "pixel"),
            attestation: try chain(fifth.challenge, key: staleKey.publicKey))
        #expect(stale.code == .attestationUnavailable, "\(stale.text)")
        #expect((stale.json?["message"] as? String)?.contains("maximum age") == true)
    }

    /// Under `optional`, a device without an attestation is `oob`, and cannot move money under
    /// `--transfers-require-attestation`.
    static func optionalWithoutAttestation(_ c: Clients) async throws {
        let device = try await c.enrollDevice()
        #expect(try await c.call(device, .get, "/v1/me").json?["assurance"] as? String == "oob")
        #expect(try assurance(of: device) == .oob)
        let from = try #require(try await c.accounts(device).first?["id"] as? String)
        #expect(
            try await c.signed(device, .post, "/v1/transfers", body: try c.transferBody(from: from)).code
                == .attestationRequired)
    }

    static func all(_ : Clients? = nil) async throws {
        let required = try attested()
        try await InProcessServer.make(settings: settings(required), attestation: required.authority).run {
            try await appAttest($0, required)
            try await androidKey($0, required)
        }
        let optional = try attested(mode: .optional)
        try await InProcessServer.make(settings: settings(optional), attestation: optional.authority).run {
            try await optionalWithoutAttestation($0)
        }
    }

    // MARK: Tests

    @Test func appAttestEnrollmentAndAssertions() async throws {
        let attested = try Self.attested()
        try await InProcessServer.make(settings: Self.settings(attested), attestation: attested.authority).run {
            try await Self.appAttest($0, attested)
        }
    }

    @Test func androidEnrollment() async throws {
        let attested = try Self.attested()
        try await InProcessServer.make(settings: Self.settings(attested), attestation: attested.authority).run {
            try await Self.androidKey($0, attested)
        }
    }

    @Test func optionalAttestationLeavesOOBDevicesWithoutTransfers() async throws {
        let attested = try Self.attested(mode: .optional)
        try await InProcessServer.make(settings: Self.settings(attested), attestation: attested.authority).run {
            try await Self.optionalWithoutAttestation($0)
        }
    }
}

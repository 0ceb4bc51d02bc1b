import Crypto
import Foundation
import LatchkeyAttestation
import LatchkeyClient
import LatchkeyPKI
import LatchkeyProtocol
import LatchkeyTestSupport
import Testing
import X509

/// Attested enrollment over real sockets (SPEC §6): `latchkey serve --attestation required` trusting a test root
/// (`--attestation-extra-root`), the SDK enrolling with synthetic App Attest and Android attestations, the policy OID
/// read back by `openssl x509 -text`, assertions on transfers, and the revocation list installed by the CLI while the
/// server runs.
@Suite struct AttestationEndToEndTests {
    static let appID = "ABCDE12345.com.example.bank"
    static let package = "com.example.bank"
    static let digest = Array(SHA256.hash(data: Array("bank signing certificate".utf8)))

    /// The genuine iOS app: App Attest under the test root.
    actor AppleApp: AttestationProvider {
        let simulator: AttestationSimulator
        let attestKey = P256.Signing.PrivateKey()
        var counter: UInt32 = 0
        init(_ simulator: AttestationSimulator) { self.simulator = simulator }

        func attestation(challenge: [UInt8], csrDER: [UInt8]) async throws -> AttestationPayload {
            let made = try simulator.appAttest(
                attestKey: attestKey, appID: AttestationEndToEndTests.appID, environment: .production,
                clientDataHash: AppAttestVerifier.enrollmentClientDataHash(challenge: challenge, csrDER: csrDER))
            return .apple(keyID: made.keyID, attestationObject: made.object)
        }

        func assertion(clientData: [UInt8]) async throws -> [UInt8]? {
            counter += 1
            return try AttestationSimulator.assertion(
                attestKey: attestKey, appID: AttestationEndToEndTests.appID, counter: counter, clientData: clientData)
        }
    }

    /// The genuine Android app: the CSR's own key attested by the (test) TEE.
    struct AndroidApp: AttestationProvider {
        let simulator: AttestationSimulator

        func attestation(challenge: [UInt8], csrDER: [UInt8]) async throws -> AttestationPayload {
            let csr = try CertificateSigningRequest(derEncoded: csrDER)
            return .android(
                chain: try simulator.androidChain(
                    publicKey: csr.publicKey, challenge: challenge,
                    claims: .init(package: AttestationEndToEndTests.package, signatureDigest: AttestationEndToEndTests.digest)))
        }

        func assertion(clientData: [UInt8]) async throws -> [UInt8]? { nil }
    }

    func enroll(_ server: ServerProcess, _ user: TestUser, _ name: String, _ provider: (any AttestationProvider)?)
        async throws -> (LatchkeyClient, String)
    {
        let directory = try Shell.temporaryDirectory("attested-device") + "/" + name
        let client = try await LatchkeyClient.enroll(
            directory: directory, enrollURL: server.enrollURL, pins: server.pins, username: user.username,
            password: user.password, deviceName: name, attestation: provider
        ) { _ in try server.code(to: user.phone) }
        return (client, directory)
    }

    func serverError(_ body: () async throws -> Void) async -> String? {
        do {
            try await body()
            return nil
        } catch ClientError.server(_, let code, _) {
            return code
        } catch {
            return "\(error)"
        }
    }

    @Test func attestedDevicesEnrollOverRealSocketsAndTheScriptDoesNot() async throws {
        let simulator = try AttestationSimulator()
        let root = try Shell.temporaryDirectory("attestation-root") + "/root.pem"
        try simulator.rootPEM().write(toFile: root, atomically: true, encoding: .utf8)
        let server = try ServerProcess(arguments: [
            "--attestation", "required", "--apple-app-id", Self.appID, "--transfers-require-attestation",
            "--android-package", "\(Self.package):\(Data(Self.digest).base64EncodedString())",
            "--attestation-extra-root", root,
        ])
        defer { _ = server.stop() }
        #expect(server.startupOutput.contains("--attestation-extra-root"))
        let user = try TestUser.add(server)

        // A script with the password and the code, no attestation.
        let script = await serverError { _ = try await enroll(server, user, "script", nil) }
        #expect(script == "attestation_required")

        // App Attest: enrolled, stated in the certificate, shown by /v1/me.
        let app = AppleApp(simulator)
        let (apple, appleDirectory) = try await enroll(server, user, "iphone", app)
        let text = try OpenSSL.run(["x509", "-in", appleDirectory + "/device.pem", "-noout", "-text"]).stdout
        #expect(text.contains("X509v3 Certificate Policies"))
        #expect(text.contains("Policy: 2.25.121864525680986129093631145990636674922.2"), "\(text)")
        let me = try await apple.call("GET", "/v1/me")
        #expect(String(decoding: me.body, as: UTF8.self).contains("\"assurance\":\"apple-app-attest\""))

        // A transfer without App-Assertion (the same device, its SDK opened without the provider) is refused;
        // with it, accepted.
        let accounts = try JSONSerialization.jsonObject(with: try await apple.call("GET", "/v1/accounts").body) as? [[String: Any]]
        let from = try #require(accounts?.first?["id"] as? String)
        let body = Data(#"{"from":"\#(from)","to":"DE89370400440532013000","amount":"1.00","currency":"EUR"}"#.utf8)
        let bare = try LatchkeyClient(directory: appleDirectory)
        let unasserted = try await bare.call("POST", "/v1/transfers", body: body)
        #expect(unasserted.status == 401 && String(decoding: unasserted.body, as: UTF8.self).contains("assertion_invalid"))
        await bare.close()
        let asserted = try await apple.call("POST", "/v1/transfers", body: body)
        #expect(asserted.status == 201, "\(String(decoding: asserted.body, as: UTF8.self))")
        await apple.close()

        // Android: no revocation list yet, so refused (fail closed); installed by the CLI, picked up within 10 s.
        let android = AndroidApp(simulator: simulator)
        let early = await serverError { _ = try await enroll(server, user, "pixel-early", android) }
        #expect(early == "attestation_unavailable")
        let list = try Shell.temporaryDirectory("status") + "/status.json"
        try Data(#"{"entries": {"9b2f": {"status": "REVOKED", "reason": "KEY_COMPROMISE"}}}"#.utf8)
            .write(to: URL(fileURLWithPath: list))
        let installed = try server.latchkey(["attest", "revocations", "install", list])
        #expect(installed.status == 0, "\(installed.stderr)")
        var pixel: (LatchkeyClient, String)?
        let deadline = Date().addingTimeInterval(15)
        while pixel == nil, Date() < deadline {
            do { pixel = try await enroll(server, user, "pixel-\(UUID().uuidString.prefix(4))", android) } catch {
                try await Task.sleep(for: .seconds(1))
            }
        }
        let (androidClient, androidDirectory) = try #require(pixel)
        let androidText = try OpenSSL.run(["x509", "-in", androidDirectory + "/device.pem", "-noout", "-text"]).stdout
        #expect(androidText.contains("Policy: 2.25.121864525680986129093631145990636674922.3"))
        let androidMe = try await androidClient.call("GET", "/v1/me")
        #expect(String(decoding: androidMe.body, as: UTF8.self).contains("\"assurance\":\"android-tee\""))
        await androidClient.close()
    }
}

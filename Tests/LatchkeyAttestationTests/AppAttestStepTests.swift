import Crypto
import Foundation
import LatchkeyAttestation
import Testing
import X509

/// Each of Apple's verification steps refuses on its own, on attestations made under a test root.
@Suite struct AppAttestStepTests {
    static let appID = "ABCDE12345.com.example.bank"
    let simulator: AttestationSimulator
    let attestKey = P256.Signing.PrivateKey()
    let challenge = Array((0..<32).map { UInt8($0) })
    let csr = Array("a CSR's DER".utf8)
    var hash: [UInt8] { AppAttestVerifier.enrollmentClientDataHash(challenge: challenge, csrDER: csr) }

    init() throws { simulator = try AttestationSimulator() }

    func verifier(environment: AppAttestEnvironment = .production, appIDs: [String] = [appID]) -> AppAttestVerifier {
        AppAttestVerifier(anchors: [simulator.root], appIDs: appIDs, environment: environment)
    }

    func made(counter: UInt32 = 0, environment: AppAttestEnvironment = .production) throws -> ([UInt8], [UInt8]) {
        let made = try simulator.appAttest(
            attestKey: attestKey, appID: Self.appID, environment: environment, clientDataHash: hash, counter: counter)
        return (made.object, made.keyID)
    }

    func refusal(_ body: () async throws -> Void) async -> AttestationError? {
        do {
            try await body()
            return nil
        } catch let error as AttestationError {
            return error
        } catch {
            return AttestationError(.invalid, check: "unexpected", "\(error)")
        }
    }

    @Test func aGenuineAttestationIsAccepted() async throws {
        let (object, keyID) = try made()
        let result = try await verifier().verify(attestationObject: object, keyID: keyID, clientDataHash: hash, at: Date())
        #expect(result.publicKey.rawRepresentation == attestKey.publicKey.rawRepresentation)
        #expect(result.appID == Self.appID)
    }

    @Test func eachStepRefuses() async throws {
        let (object, keyID) = try made()
        let now = Date()
        func check(_ expected: String, verifier v: AppAttestVerifier? = nil, object o: [UInt8]? = nil,
                   keyID k: [UInt8]? = nil, hash h: [UInt8]? = nil, at t: Date? = nil) async {
            let error = await refusal {
                _ = try await (v ?? verifier()).verify(
                    attestationObject: o ?? object, keyID: k ?? keyID, clientDataHash: h ?? hash, at: t ?? now)
            }
            #expect(error?.check == expected, "expected \(expected), got \(String(describing: error))")
            #expect(error?.code == .invalid)
        }
        // Wrong app id, other environment.
        await check("app_id", verifier: verifier(appIDs: ["ABCDE12345.com.example.other"]))
        await check("environment", verifier: verifier(environment: .development))
        // Other challenge, and the same challenge with another CSR.
        await check("nonce", hash: AppAttestVerifier.enrollmentClientDataHash(challenge: Array(repeating: 9, count: 32), csrDER: csr))
        await check("nonce", hash: AppAttestVerifier.enrollmentClientDataHash(challenge: challenge, csrDER: csr + [0]))
        // Another key id.
        await check("key_id", keyID: Array(SHA256.hash(data: [1, 2, 3])))
        // Expired at the current time (the credential certificate lives three days).
        await check("chain", at: now.addingTimeInterval(4 * 86_400))
        // Untrusted root.
        let stranger = try AttestationSimulator()
        await check("chain", verifier: AppAttestVerifier(anchors: [stranger.root], appIDs: [Self.appID], environment: .production))
        // Flipped authenticator data: one bit of the RP ID hash.
        await check("nonce", object: try rewrite(object) { authData, x5c in
            authData[0] ^= 0x01
        })
        // Swapped chain order.
        await check("chain", object: try rewrite(object) { _, x5c in x5c.reverse() })
        // More certificates than the credential certificate and its intermediate (a path search could explode).
        await check("format", object: try rewrite(object) { _, x5c in x5c += [x5c[1], x5c[1]] })
        await check("format", object: try rewrite(object) { _, x5c in x5c.removeLast() })
        await check("format", object: object + [UInt8](repeating: 0, count: AppAttestObject.maximumSize))
        // Not App Attest at all.
        await check("format", object: Array("not cbor".utf8))
        await check("format", object: CBORWriter.encode(.map([(.text("fmt"), .text("packed"))])))
        // Trailing bytes after the object.
        await check("format", object: object + [0])
    }

    @Test func aNonZeroCounterIsRefusedWhenTheNonceMatches() async throws {
        // A credential certificate whose nonce covers an authData with counter 1: only the counter step refuses it.
        let (object, keyID) = try made(counter: 1)
        let error = await refusal {
            _ = try await verifier().verify(attestationObject: object, keyID: keyID, clientDataHash: hash, at: Date())
        }
        #expect(error?.check == "counter")
    }

    @Test func noAnchorsIsUnavailable() async throws {
        let (object, keyID) = try made()
        let error = await refusal {
            _ = try await AppAttestVerifier(anchors: [], appIDs: [Self.appID], environment: .production)
                .verify(attestationObject: object, keyID: keyID, clientDataHash: hash, at: Date())
        }
        #expect(error?.code == .unavailable)
    }

    @Test func assertionsNeedAGreaterCounterAndTheSameRequest() throws {
        let request = Array("the signature base of sig1".utf8)
        let assertion = try AttestationSimulator.assertion(
            attestKey: attestKey, appID: Self.appID, counter: 5, clientData: request)
        let verifier = AppAttestAssertionVerifier(publicKey: attestKey.publicKey, appIDs: [Self.appID])
        #expect(try verifier.verify(assertion: assertion, clientData: request, previousCounter: 4) == 5)
        #expect(throws: AttestationError.self) { try verifier.verify(assertion: assertion, clientData: request, previousCounter: 5) }
        do {
            _ = try verifier.verify(assertion: assertion, clientData: request + [0x20], previousCounter: 0)
            Issue.record("an assertion over another request was accepted")
        } catch { #expect(error.check == "signature") }
        do {
            _ = try AppAttestAssertionVerifier(publicKey: P256.Signing.PrivateKey().publicKey, appIDs: [Self.appID])
                .verify(assertion: assertion, clientData: request, previousCounter: 0)
            Issue.record("another key's assertion was accepted")
        } catch { #expect(error.check == "signature") }
        do {
            _ = try AppAttestAssertionVerifier(publicKey: attestKey.publicKey, appIDs: ["X.other"])
                .verify(assertion: assertion, clientData: request, previousCounter: 0)
            Issue.record("another app's assertion was accepted")
        } catch { #expect(error.check == "app_id") }
    }

    /// Decodes an attestation object, lets `change` edit authData and x5c, and encodes it again.
    func rewrite(_ object: [UInt8], _ change: (inout [UInt8], inout [CBORValue]) -> Void) throws -> [UInt8] {
        let value = try CBORReader.decode(object)
        var authData = value[text: "authData"]!.byteString!
        var x5c = value[text: "attStmt"]![text: "x5c"]!.arrayItems!
        change(&authData, &x5c)
        return CBORWriter.encode(
            .map([
                (.text("fmt"), .text("apple-appattest")),
                (.text("attStmt"), .map([(.text("x5c"), .array(x5c)), (.text("receipt"), .bytes([]))])),
                (.text("authData"), .bytes(authData)),
            ]))
    }
}

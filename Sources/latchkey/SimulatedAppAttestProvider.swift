import Crypto
import Foundation
import LatchkeyAttestation
import LatchkeyClient
import LatchkeyProtocol

/// The genuine app of `latchkey demo`: App Attest attestations and assertions made by ``AttestationSimulator`` under
/// a test root the demo server trusts with `--attestation-extra-root` (no Apple device is reachable here).
actor SimulatedAppAttestProvider: AttestationProvider {
    let simulator: AttestationSimulator
    let appID: String
    let attestKey = P256.Signing.PrivateKey()
    private var counter: UInt32 = 0

    init(simulator: AttestationSimulator, appID: String) {
        self.simulator = simulator
        self.appID = appID
    }

    func attestation(challenge: [UInt8], csrDER: [UInt8]) async throws -> AttestationPayload {
        let made = try simulator.appAttest(
            attestKey: attestKey, appID: appID, environment: .production,
            clientDataHash: AppAttestVerifier.enrollmentClientDataHash(challenge: challenge, csrDER: csrDER))
        return .apple(keyID: made.keyID, attestationObject: made.object)
    }

    func assertion(clientData: [UInt8]) async throws -> [UInt8]? {
        counter += 1
        return try AttestationSimulator.assertion(
            attestKey: attestKey, appID: appID, counter: counter, clientData: clientData)
    }
}

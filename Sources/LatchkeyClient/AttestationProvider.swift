import Crypto
import Foundation
import LatchkeyProtocol

/// Proves to the server that the device's key belongs to the genuine app on a genuine device (SPEC §6). The SDK
/// asks it for an attestation during enrollment and, on every signed request, for an assertion.
public protocol AttestationProvider: Sendable {
    /// The attestation of an enrollment, bound to the server's `challenge` (decoded from `attestation_challenge`) and
    /// to the CSR the SDK is about to send (its DER): App Attest attests a key over
    /// SHA-256(challenge || SHA-256(CSR DER)).
    func attestation(challenge: [UInt8], csrDER: [UInt8]) async throws -> AttestationPayload
    /// An assertion over `clientData` (the exact signature base of `sig1`), sent as `App-Assertion`; nil for kinds of
    /// attestation that have none (Android: the attested key is the TLS key itself).
    func assertion(clientData: [UInt8]) async throws -> [UInt8]?
}

extension AttestationProvider {
    /// The clientDataHash an App Attest attestation of an enrollment covers.
    public static func enrollmentClientDataHash(challenge: [UInt8], csrDER: [UInt8]) -> Data {
        Data(SHA256.hash(data: challenge + Array(SHA256.hash(data: csrDER))))
    }
}

#if canImport(DeviceCheck)
    import DeviceCheck

    /// App Attest through DeviceCheck's `DCAppAttestService` (iOS 14+): a Secure Enclave key of its own, attested by
    /// Apple once at enrollment; its id is kept in `DIRECTORY/appattest-key-id` (mode 0600) for assertions.
    ///
    /// Guarantees: a new App Attest key per enrollment (the server enrolls a key id once); assertions are made over
    /// SHA-256 of the signature base, as the server verifies them.
    @available(iOS 14.0, macOS 11.0, tvOS 15.0, *)
    public struct AppAttestProvider: AttestationProvider {
        let keyIDPath: String

        public init(directory: String) {
            keyIDPath = directory + "/appattest-key-id"
        }

        public func attestation(challenge: [UInt8], csrDER: [UInt8]) async throws -> AttestationPayload {
            let service = DCAppAttestService.shared
            guard service.isSupported else { throw ClientError.invalid("App Attest is not available on this device") }
            let keyID = try await service.generateKey()
            let object = try await service.attestKey(
                keyID, clientDataHash: Self.enrollmentClientDataHash(challenge: challenge, csrDER: csrDER))
            try Data(keyID.utf8).write(to: URL(fileURLWithPath: keyIDPath), options: .atomic)
            _ = chmod(keyIDPath, 0o600)
            return AttestationPayload(
                format: AttestationPayload.appleAppAttest, keyID: keyID, attestationObject: object.base64EncodedString())
        }

        public func assertion(clientData: [UInt8]) async throws -> [UInt8]? {
            guard let data = FileManager.default.contents(atPath: keyIDPath) else {
                throw ClientError.invalid("no App Attest key id is stored; enroll again")
            }
            let assertion = try await DCAppAttestService.shared.generateAssertion(
                String(decoding: data, as: UTF8.self), clientDataHash: Data(SHA256.hash(data: clientData)))
            return Array(assertion)
        }
    }
#endif

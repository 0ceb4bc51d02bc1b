import Crypto
import Foundation

/// Verifies an App Attest assertion (Apple's steps for assertions).
///
/// Guarantees: the counter is returned only if the assertion is a CBOR map of `signature` and 37 bytes of
/// `authenticatorData`, the signature verifies with the attested key over
/// nonce = SHA-256(authenticatorData || SHA-256(clientData)), the RP ID hash is SHA-256 of the app id, and the
/// counter is greater than `previousCounter`. The caller stores the counter atomically (a counter not greater than
/// the stored one must be refused there too, since two requests can race).
public struct AppAttestAssertionVerifier: Sendable {
    public let publicKey: P256.Signing.PublicKey
    public let appIDs: [String]

    public init(publicKey: P256.Signing.PublicKey, appIDs: [String]) {
        self.publicKey = publicKey
        self.appIDs = appIDs
    }

    public func verify(assertion: [UInt8], clientData: [UInt8], previousCounter: UInt32) throws(AttestationError)
        -> UInt32
    {
        let object: CBORValue
        do { object = try CBORReader.decode(assertion) } catch {
            throw AttestationError(.assertionInvalid, check: "format", "the assertion is not CBOR: \(error.description)")
        }
        guard object.isMap, let signatureDER = object[text: "signature"]?.byteString,
            let authDataBytes = object[text: "authenticatorData"]?.byteString
        else {
            throw AttestationError(
                .assertionInvalid, check: "format", "the assertion lacks signature or authenticatorData")
        }
        let authData = try AuthenticatorData(assertion: authDataBytes)
        let nonce = Array(SHA256.hash(data: authDataBytes + Array(SHA256.hash(data: clientData))))
        guard let signature = try? P256.Signing.ECDSASignature(derRepresentation: signatureDER),
            publicKey.isValidSignature(signature, for: nonce)
        else {
            throw AttestationError(
                .assertionInvalid, check: "signature",
                "the signature does not verify with the attested key over this request")
        }
        guard appIDs.contains(where: { Array(SHA256.hash(data: Array($0.utf8))) == authData.rpIDHash }) else {
            throw AttestationError(.assertionInvalid, check: "app_id", "the RP ID hash is not SHA-256 of the app id")
        }
        guard authData.counter > previousCounter else {
            throw AttestationError(
                .assertionInvalid, check: "counter",
                "the counter \(authData.counter) is not greater than the last one seen (\(previousCounter))")
        }
        return authData.counter
    }
}

import Crypto
import Foundation
import LatchkeyAttestation
import LatchkeyPKI
import LatchkeyProtocol

/// The parsers that read bytes from the network, as entry points for libFuzzer (`Fuzz/`) and for the regression
/// tests that replay the corpus and every crash found.
///
/// Guarantees: each function returns normally for every input unless the code under test traps; what it checks is
/// that parsing and refusing never crash, and that whatever is accepted can be used.
public enum FuzzTargets {
    /// CSR intake on PEM or DER bytes; a CSR that is accepted is also issued, so issuance sees every accepted key.
    public static func csrIntake(_ data: [UInt8]) {
        guard let accepted = try? CSRIntake.accept(data) else { return }
        _ = try? IssuancePolicy().issue(
            accepted, deviceID: "dev-fuzz", userID: "usr-fuzz", authority: FuzzAuthority.shared)
    }

    /// Strict JSON decoding of every request body the API takes; the first byte picks the body type.
    public static func requestJSON(_ data: [UInt8]) {
        if let transfer = try? requestBody(data) as? TransferRequest { _ = Money.cents(transfer.amount) }
    }

    /// The request body type picked by the first byte (modulo 4: start, complete, renew, transfer), decoded strictly
    /// from the remaining bytes; no bytes at all is an empty body.
    public static func requestBody(_ data: [UInt8]) throws(StrictJSON.Problem) -> any StrictRequestBody {
        let body = Data(data.dropFirst())
        switch (data.first ?? 0) % 4 {
        case 0: return try StrictJSON.decode(EnrollmentStartRequest.self, from: body)
        case 1: return try StrictJSON.decode(EnrollmentCompleteRequest.self, from: body)
        case 2: return try StrictJSON.decode(RenewRequest.self, from: body)
        default: return try StrictJSON.decode(TransferRequest.self, from: body)
        }
    }

    /// `Signature-Input`, `Signature` and `Content-Digest` as a server receives them: the input is split at NUL
    /// bytes into those three fields and a body; a parsed signature also gets its signature base built.
    public static func signatureHeaders(_ data: [UInt8]) {
        let parts = data.split(separator: 0, maxSplits: 3, omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        let input = parts.count > 0 ? parts[0] : ""
        let signature = parts.count > 1 ? parts[1] : ""
        let digest = parts.count > 2 ? parts[2] : ""
        let body = parts.count > 3 ? Data(parts[3].utf8) : Data()
        _ = ContentDigest.matchesSHA256(header: digest, body: body)
        guard let received = try? ReceivedSignature.parse(signatureInput: input, signature: signature) else { return }
        _ = try? SignatureBase.build(
            HTTPMessageParts(method: "POST", target: "/v1/transfers?fuzz=1", fields: ["content-digest": digest]),
            components: received.parameters.components, signatureParams: received.signatureInput)
    }
}

extension FuzzTargets {
    /// The strict CBOR reader: whatever it accepts encodes and decodes back to the same value.
    public static func cbor(_ data: [UInt8]) {
        guard let value = try? CBORReader.decode(data) else { return }
        guard (try? CBORReader.decode(CBORWriter.encode(value))) == value else {
            fatalError("a CBOR value does not survive encoding and decoding")
        }
    }

    /// App Attest objects and assertions: the object parser (CBOR, x5c certificates, authenticator data, the nonce
    /// extension) and the assertion verifier with a fixed key; the first byte picks which.
    public static func appAttest(_ data: [UInt8]) {
        let rest = Array(data.dropFirst())
        if (data.first ?? 0) % 2 == 0 {
            guard let object = try? AppAttestObject(rest) else { return }
            _ = try? AppAttestVerifier.nonce(of: object.certificates[0])
            _ = object.authData.credential?.publicKey[int: -2]
        } else {
            _ = try? FuzzKeys.assertionVerifier.verify(assertion: rest, clientData: [0x61], previousCounter: 0)
        }
    }

    /// Android's KeyDescription, read with BER tolerance.
    public static func keyDescription(_ data: [UInt8]) {
        guard let description = try? AndroidKeyDescription(berEncoded: data) else { return }
        _ = description.applicationID?.packages.map(\.name.utf8.count)
    }

    /// `PROGRAM --write-seeds DIR`: writes `syntheticSeeds(target)` into DIR and returns true (the program then
    /// exits); false for any other command line, which is libFuzzer's.
    public static func writeSeedsIfAsked(_ target: String, arguments: [String] = CommandLine.arguments) -> Bool {
        guard arguments.count == 3, arguments[1] == "--write-seeds" else { return false }
        for (index, seed) in syntheticSeeds(target).enumerated() {
            FileManager.default.createFile(atPath: "\(arguments[2])/seed-\(index)", contents: Data(seed))
        }
        return true
    }

    /// Well-formed inputs for the attestation targets, made fresh under a test root (nothing recorded is committed):
    /// the fuzzers start from them and the corpus tests replay them.
    public static func syntheticSeeds(_ target: String) -> [[UInt8]] {
        guard let simulator = try? AttestationSimulator() else { return [] }
        let key = P256.Signing.PrivateKey()
        let attestation = try? simulator.appAttest(
            attestKey: key, appID: "ABCDE12345.com.example", environment: .production,
            clientDataHash: Array(repeating: 1, count: 32))
        let assertion = try? AttestationSimulator.assertion(
            attestKey: FuzzKeys.attestKey, appID: FuzzKeys.appID, counter: 1, clientData: [0x61])
        switch target {
        case "cbor": return [attestation?.object, assertion].compactMap { $0 }
        case "appattest": return [attestation.map { [0] + $0.object }, assertion.map { [1] + $0 }].compactMap { $0 }
        case "keydescription":
            let claims = AttestationSimulator.AndroidClaims(
                package: "com.example.bank", signatureDigest: Array(repeating: 7, count: 32))
            return [try? AttestationSimulator.keyDescription(challenge: Array(repeating: 3, count: 32), claims: claims)]
                .compactMap { $0 }
        default: return []
        }
    }
}

/// A fixed App Attest key for the assertion fuzzer, so seeds made by ``FuzzTargets/syntheticSeeds(_:)`` verify.
enum FuzzKeys {
    static let appID = "ABCDE12345.com.example"
    static let attestKey = try! P256.Signing.PrivateKey(rawRepresentation: Array(repeating: UInt8(0x42), count: 32))
    static let assertionVerifier = AppAttestAssertionVerifier(publicKey: attestKey.publicKey, appIDs: [appID])
}

/// One CA for the whole fuzzing run: making a P-384 root per input would drown the fuzzer.
enum FuzzAuthority {
    static let shared: CertificateAuthority = {
        guard let made = try? CertificateAuthority.create() else { fatalError("cannot create the fuzzing CA") }
        return made.authority
    }()
}

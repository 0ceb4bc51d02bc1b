import Foundation
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

/// One CA for the whole fuzzing run: making a P-384 root per input would drown the fuzzer.
enum FuzzAuthority {
    static let shared: CertificateAuthority = {
        guard let made = try? CertificateAuthority.create() else { fatalError("cannot create the fuzzing CA") }
        return made.authority
    }()
}

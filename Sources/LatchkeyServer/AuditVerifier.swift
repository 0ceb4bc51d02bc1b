import Foundation
import LatchkeyProtocol
import LatchkeyStore
import X509

/// Checks the audit trail offline: the hash chain, and every stored request signature against the stored
/// certificate it names.
///
/// Guarantees: reports the sequence number of the first event that fails either check, with the reason.
public struct AuditVerifier: Sendable {
    public struct Report: Sendable {
        public let events: Int
        public let signaturesChecked: Int
        public let firstBreak: AuditChain.Break?
    }

    let store: any LatchkeyStore

    public init(store: any LatchkeyStore) {
        self.store = store
    }

    public func verify() async throws -> Report {
        let trail = try await store.auditTrail()
        var firstBreak = AuditChain.verify(
            events: trail.events, headSequence: trail.headSequence, headHash: trail.headHash)
        var checked = 0
        for event in trail.events where event.entry.action == "transfer.created" {
            if let current = firstBreak, current.sequence <= event.sequence { break }
            if let problem = try await signatureProblem(event) {
                firstBreak = AuditChain.Break(sequence: event.sequence, reason: problem)
                break
            }
            checked += 1
        }
        return Report(events: trail.events.count, signaturesChecked: checked, firstBreak: firstBreak)
    }

    /// Why an event's stored signature does not verify, or nil if it does.
    func signatureProblem(_ event: AuditRecord) async throws -> String? {
        guard
            let evidence = try? JSONDecoder().decode(SignatureEvidence.self, from: Data(event.entry.detailsJSON.utf8)),
            let signature = Data(base64Encoded: evidence.signature)
        else { return "the event carries no readable signature evidence" }
        guard let record = try await store.certificate(serial: evidence.serial),
            let der = Data(base64Encoded: record.derBase64),
            let certificate = try? Certificate(derEncoded: Array(der))
        else { return "the certificate \(evidence.serial) named by the signature is not stored" }
        guard record.deviceID == evidence.keyID else { return "the signature's keyid is not the certificate's device" }
        guard let key = SignatureMiddleware.verificationKey(certificate.publicKey),
            key.algorithm.rawValue == evidence.algorithm
        else { return "the stored algorithm does not match the certificate key" }
        if !evidence.body.isEmpty,
            !evidence.signatureBase.contains(
                "\"content-digest\": " + ContentDigest.sha256(Data(evidence.body.utf8)) + "\n")
        {
            return "the stored request body does not match the signed content-digest"
        }
        guard key.isValid(signature: signature, base: evidence.signatureBase) else {
            return "the stored signature does not verify over the stored signature base"
        }
        return nil
    }
}

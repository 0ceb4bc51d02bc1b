import Crypto
import Foundation
import LatchkeyPKI
import LatchkeyProtocol
import LatchkeyStore
import X509

/// Checks the audit trail offline: the keyed chain up to its head and every checkpoint kept outside the database,
/// every stored request signature against the stored certificate it names, and the money tables against the
/// audited transfers.
///
/// Guarantees: every problem is reported, each with the sequence number of its event where it has one; a broken
/// event does not stop the checks of the events after it. Balances are recomputed from the opening balances of
/// `user.created` events and the audited transfers; a transfer row without its event (or differing from it), an
/// event without its row, and a balance that differs are all reported.
public struct AuditVerifier: Sendable {
    public struct Report: Sendable {
        public let events: Int
        public let signaturesChecked: Int
        public let transfersChecked: Int
        public let accountsChecked: Int
        /// Chain and signature problems, by sequence number.
        public let breaks: [AuditChain.Break]
        /// Differences between the money tables and the audit trail.
        public let moneyProblems: [String]

        public var isIntact: Bool { breaks.isEmpty && moneyProblems.isEmpty }
    }

    let store: any LatchkeyStore
    let key: SymmetricKey
    /// The issuing CA: a stored certificate that a signature names must have been issued by it.
    let issuing: Certificate
    let checkpoints: [AuditChain.Checkpoint]

    public init(
        store: any LatchkeyStore, key: SymmetricKey, issuing: Certificate, checkpoints: [AuditChain.Checkpoint] = []
    ) {
        self.store = store
        self.key = key
        self.issuing = issuing
        self.checkpoints = checkpoints
    }

    public func verify() async throws -> Report {
        let trail = try await store.auditTrail()
        var breaks = AuditChain.verify(trail, key: key, checkpoints: checkpoints)
        var checked = 0
        var audited: [String: AuditDetails.Transfer] = [:]
        var openings: [String: AuditDetails.Account] = [:]
        let decoder = JSONDecoder()
        for event in trail.events {
            let details = Data(event.entry.detailsJSON.utf8)
            switch event.entry.action {
            case "transfer.created":
                let evidence: SignatureEvidence
                var signer: String?
                if let recorded = try? decoder.decode(AuditDetails.self, from: details),
                    let transfer = recorded.transfer, let signature = recorded.signature
                {
                    evidence = signature
                    signer = transfer.userID
                    audited[transfer.id] = transfer
                } else if let legacy = try? decoder.decode(SignatureEvidence.self, from: details) {
                    evidence = legacy
                } else {
                    breaks.append(
                        AuditChain.Break(sequence: event.sequence, reason: "the event carries no readable evidence"))
                    continue
                }
                if let problem = try await signatureProblem(evidence, user: signer) {
                    breaks.append(AuditChain.Break(sequence: event.sequence, reason: problem))
                } else {
                    checked += 1
                }
            case "device.revoked":
                if let revocation = try? decoder.decode(AuditDetails.self, from: details),
                    let evidence = revocation.signature
                {
                    if let problem = try await signatureProblem(evidence) {
                        breaks.append(AuditChain.Break(sequence: event.sequence, reason: problem))
                    } else {
                        checked += 1
                    }
                }
            case "user.created":
                if let created = try? decoder.decode(AuditDetails.self, from: details) {
                    for account in created.accounts ?? [] { openings[account.id] = account }
                }
            default:
                break
            }
        }
        let ledger = try await store.moneyLedger()
        let money = Self.moneyProblems(
            ledger, audited: audited, openings: openings, legacyDatabase: trail.legacyUntil > 0)
        return Report(
            events: trail.events.count, signaturesChecked: checked, transfersChecked: ledger.transfers.count,
            accountsChecked: ledger.accounts.count, breaks: breaks.sorted { $0.sequence < $1.sequence },
            moneyProblems: money)
    }

    /// The differences between the money tables and what the audit trail says happened.
    static func moneyProblems(
        _ ledger: MoneyLedger, audited: [String: AuditDetails.Transfer],
        openings: [String: AuditDetails.Account], legacyDatabase: Bool
    ) -> [String] {
        var problems: [String] = []
        var rows: Set<String> = []
        for transfer in ledger.transfers {
            rows.insert(transfer.id)
            guard let event = audited[transfer.id] else {
                if !legacyDatabase { problems.append("transfer \(transfer.id) has no audit event") }
                continue
            }
            if !event.matches(transfer) {
                problems.append("transfer \(transfer.id) differs from its audit event (amount, accounts or time)")
            }
        }
        for id in audited.keys.sorted() where !rows.contains(id) {
            problems.append("transfer \(id) of the audit trail is missing from the transfers table")
        }
        var expected = openings.mapValues(\.balanceCents)
        for transfer in audited.values.sorted(by: { $0.id < $1.id }) {
            if let source = openings[transfer.from], let owner = source.userID, owner != transfer.userID {
                problems.append("transfer \(transfer.id) debits account \(transfer.from), which its user does not own")
            }
            expected[transfer.from, default: 0] -= transfer.amountCents
            if openings[transfer.to] != nil { expected[transfer.to, default: 0] += transfer.amountCents }
        }
        let rowsByID = Dictionary(ledger.accounts.map { ($0.id, $0) }, uniquingKeysWith: { first, _ in first })
        for id in openings.keys.sorted() where rowsByID[id] == nil {
            problems.append("account \(id) of the audit trail is missing from the accounts table")
        }
        for account in ledger.accounts {
            guard let opening = openings[account.id] else {
                if !legacyDatabase { problems.append("account \(account.id) has no opening event") }
                continue
            }
            if let owner = opening.userID, owner != account.userID {
                problems.append("account \(account.id) belongs to another user than the one it was opened for")
            }
            if opening.currency != account.currency {
                problems.append("account \(account.id) holds another currency than the one it was opened in")
            }
            if expected[account.id] != account.balanceCents {
                problems.append(
                    "account \(account.id) holds \(Money.format(account.balanceCents)) but the audited transfers leave \(Money.format(expected[account.id] ?? 0))"
                )
            }
        }
        return problems
    }

    /// Why a stored signature does not verify, or nil if it does: the certificate it names must be one the issuing
    /// CA signed, for the signing device and (when given) the user the action is attributed to.
    func signatureProblem(_ evidence: SignatureEvidence, user: String? = nil) async throws -> String? {
        guard let signature = Data(base64Encoded: evidence.signature), let body = evidence.bodyBytes else {
            return "the stored signature evidence is damaged"
        }
        guard let record = try await store.certificate(serial: evidence.serial),
            let der = Data(base64Encoded: record.derBase64),
            let certificate = try? Certificate(derEncoded: Array(der))
        else { return "the certificate \(evidence.serial) named by the signature is not stored" }
        guard issuing.publicKey.isValidSignature(certificate.signature, for: certificate) else {
            return "the certificate \(evidence.serial) was not issued by this issuing CA"
        }
        guard let identity = try? ClientCertificateValidator.identity(of: certificate),
            identity.deviceID == evidence.keyID, record.deviceID == evidence.keyID
        else { return "the signature's keyid is not the certificate's device" }
        if let user, identity.userID != user {
            return "the transfer is attributed to a user other than the one the signing certificate names"
        }
        guard let key = SignatureMiddleware.verificationKey(certificate.publicKey),
            key.algorithm.rawValue == evidence.algorithm
        else { return "the stored algorithm does not match the certificate key" }
        if !body.isEmpty,
            !evidence.signatureBase.contains("\"content-digest\": " + ContentDigest.sha256(body) + "\n")
        {
            return "the stored request body does not match the signed content-digest"
        }
        guard key.isValid(signature: signature, base: evidence.signatureBase) else {
            return "the stored signature does not verify over the stored signature base"
        }
        return nil
    }
}

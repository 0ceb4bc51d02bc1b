import Crypto
import Foundation
import LatchkeyPKI
import LatchkeyProtocol
import LatchkeyStore

/// The demo banking endpoints: an API behind Latchkey (SPEC §4).
///
/// Guarantees: transfers debit only the caller's own account, in its currency, by a positive amount within its
/// balance; money is parsed and printed as decimal strings through integer cents.
public struct DemoBank: Sendable {
    let store: any LatchkeyStore
    /// `--transfers-require-attestation`: a device enrolled with password and code only may not move money.
    let requireAttestation: Bool
    static let currencies: Set<String> = ["EUR", "USD", "GBP", "CHF"]

    public init(store: any LatchkeyStore, requireAttestation: Bool = false) {
        self.store = store
        self.requireAttestation = requireAttestation
    }

    func accounts(_ device: VerifiedDevice) async throws -> [AccountInfo] {
        try await store.accounts(userID: device.identity.userID).map {
            AccountInfo(id: $0.id, name: $0.name, currency: $0.currency, balance: Money.format($0.balanceCents))
        }
    }

    func transfer(
        _ device: VerifiedDevice, _ request: TransferRequest, evidence: SignatureEvidence,
        replayGuard: PendingReplayGuard, idempotencyKey: String?, now: Date = Date()
    ) async throws -> (response: TransferResponse, replayed: Bool) {
        if requireAttestation && device.assurance == .oob {
            throw Refusal(
                .attestationRequired, "transfers need a device enrolled with an app attestation; this one has none")
        }
        guard let cents = Money.cents(request.amount), cents > 0 else {
            throw Refusal.badRequest(
                "amount must be a positive decimal string with at most two decimals, such as \"12.34\"")
        }
        guard Self.currencies.contains(request.currency) else {
            throw Refusal.badRequest("currency must be one of \(Self.currencies.sorted().joined(separator: ", "))")
        }
        guard request.to != request.from else { throw Refusal.badRequest("to must be another account") }
        if request.to.hasPrefix("acc-") {
            guard Self.isAccountID(request.to) else { throw Refusal.badRequest("to is not a well-formed account id") }
        } else {
            guard IBAN.isValid(request.to) else {
                throw Refusal(.ibanInvalid,
                    "to must be an account id (acc-...) or an IBAN whose check digits are right")
            }
        }
        let record = TransferRecord(
            id: "trf-" + UUID().uuidString.lowercased(), userID: device.identity.userID,
            deviceID: device.identity.deviceID, fromAccount: request.from, toAccount: request.to, amountCents: cents,
            currency: request.currency, createdAt: now)
        let details = AuditDetails(transfer: .init(record), signature: evidence, idempotencyKey: idempotencyKey)
        let claim = idempotencyKey.map {
            IdempotencyClaim(key: $0, requestSHA256: Hex.lowercase(SHA256.hash(data: evidence.bodyBytes ?? Data())))
        }
        let audit = AuditEntry(
            time: now, actor: "device:\(device.identity.deviceID)", action: "transfer.created", subject: record.id,
            detailsJSON: details.json)
        let outcome = try await replayGuard.spend { replayGuard in
            try await store.transfer(record, audit: audit, idempotency: claim, replayGuard: replayGuard)
        }
        let made = outcome.transfer
        return (
            TransferResponse(
                transferID: made.id, from: made.fromAccount, to: made.toAccount, amount: Money.format(made.amountCents),
                currency: made.currency, balance: Money.format(outcome.balanceCents),
                createdAt: Timestamp.string(made.createdAt)),
            outcome.replayed
        )
    }

    /// An account id of this bank: `acc-` and at most 60 more letters, digits or dashes.
    static func isAccountID(_ text: String) -> Bool {
        text.hasPrefix("acc-") && text.utf8.count <= 64
            && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
    }
}

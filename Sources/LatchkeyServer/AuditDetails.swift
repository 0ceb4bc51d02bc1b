import Foundation
import LatchkeyStore

/// The details of a `transfer.created` audit event: what moved, and the signed request that asked for it.
///
/// `audit verify` checks the signature over the stored request, and the transfers and balances in the database
/// against these details, so a changed amount, payee or balance in the money tables is reported.
struct TransferAuditDetails: Codable, Sendable, Equatable {
    struct Transfer: Codable, Sendable, Equatable {
        var id: String
        var userID: String
        var deviceID: String
        var from: String
        var to: String
        var amountCents: Int64
        var currency: String
        var createdAtMillis: Int64

        enum CodingKeys: String, CodingKey {
            case id, from, to, currency
            case userID = "user_id"
            case deviceID = "device_id"
            case amountCents = "amount_cents"
            case createdAtMillis = "created_at_ms"
        }

        init(_ record: TransferRecord) {
            id = record.id
            userID = record.userID
            deviceID = record.deviceID
            from = record.fromAccount
            to = record.toAccount
            amountCents = record.amountCents
            currency = record.currency
            createdAtMillis = Int64((record.createdAt.timeIntervalSince1970 * 1000).rounded())
        }

        func matches(_ record: TransferRecord) -> Bool { self == Transfer(record) }
    }

    var transfer: Transfer
    var signature: SignatureEvidence
    var idempotencyKey: String?

    enum CodingKeys: String, CodingKey {
        case transfer, signature
        case idempotencyKey = "idempotency_key"
    }
}

/// The details of a `user.created` event: the accounts opened with their first balances, from which `audit verify`
/// recomputes every balance.
struct UserCreatedAuditDetails: Codable, Sendable, Equatable {
    struct Account: Codable, Sendable, Equatable {
        var id: String
        var currency: String
        var balanceCents: Int64

        enum CodingKeys: String, CodingKey {
            case id, currency
            case balanceCents = "balance_cents"
        }
    }

    var username: String
    var accounts: [Account]
}

/// The details of a `device.revoked` event made through the API: the signed request that asked for it.
struct RevocationAuditDetails: Codable, Sendable, Equatable {
    var reason: String
    var signature: SignatureEvidence?
}

/// Audit details as compact JSON text with sorted keys (stable bytes for the chain).
enum AuditJSON {
    static func encode(_ value: some Encodable) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(value), as: UTF8.self)) ?? "{}"
    }
}

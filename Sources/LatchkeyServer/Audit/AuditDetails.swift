import Foundation
import LatchkeyStore

/// The details of every audit event, one Codable type: each action fills the fields it has, the others stay out of
/// the JSON. `audit verify` reads the same type back: signatures over stored requests, transfers against the money
/// tables, opening balances.
struct AuditDetails: Codable, Sendable, Equatable {
    /// A transfer as it was made (`transfer.created`).
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

    /// An account opened with a user (`user.created`), from which balances are recomputed.
    struct Account: Codable, Sendable, Equatable {
        var id: String
        /// The owner; absent in events written before it was recorded.
        var userID: String?
        var currency: String
        var balanceCents: Int64

        enum CodingKeys: String, CodingKey {
            case id, currency
            case userID = "user_id"
            case balanceCents = "balance_cents"
        }
    }

    var username: String?
    var accounts: [Account]?
    var enrollmentID: String?
    var deviceName: String?
    var clientAddress: String?
    var serial: String?
    var previousSerial: String?
    var key: String?
    var reason: String?
    var transfer: Transfer?
    /// The signed request that asked for the action (transfers, revocations through the API).
    var signature: SignatureEvidence?
    var idempotencyKey: String?
    /// How an enrolled device was attested (SPEC §6), and its App Attest key id.
    var assurance: String?
    var attestKeyID: String?

    enum CodingKeys: String, CodingKey {
        case username, accounts, serial, key, reason, transfer, signature, assurance
        case attestKeyID = "attest_key_id"
        case enrollmentID = "enrollment_id"
        case deviceName = "device_name"
        case clientAddress = "client_address"
        case previousSerial = "previous_serial"
        case idempotencyKey = "idempotency_key"
    }

    /// Compact JSON with sorted keys (stable bytes for the chain); absent fields are left out.
    var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? String(decoding: encoder.encode(self), as: UTF8.self)) ?? "{}"
    }
}

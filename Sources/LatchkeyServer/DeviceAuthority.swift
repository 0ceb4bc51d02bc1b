import Crypto
import Foundation
import LatchkeyPKI
import LatchkeyProtocol
import LatchkeyStore
import Logging

/// What an enrolled device may do about itself and its user's devices: who am I, renew, list, revoke, nonces.
///
/// Guarantees: a device acts only on its own user's devices (another user's device is "not found"); a renewal keeps
/// the device id and revokes every earlier certificate once the new one is stored.
public struct DeviceAuthority: Sendable {
    let store: any LatchkeyStore
    let authority: CertificateAuthority
    let policy: IssuancePolicy
    let issuer: DeviceIssuer
    let revocation: DeviceRevocation
    let settings: ServerSettings
    let apiURL: String

    public init(store: any LatchkeyStore, authority: CertificateAuthority, settings: ServerSettings, apiURL: String)
        throws
    {
        self.store = store
        self.authority = authority
        self.policy = try IssuancePolicy(lifetime: settings.certificateLifetime)
        self.issuer = try DeviceIssuer(store: store, authority: authority, lifetime: settings.certificateLifetime)
        self.revocation = DeviceRevocation(store: store)
        self.settings = settings
        self.apiURL = apiURL
    }

    func me(_ device: VerifiedDevice) async throws -> MeResponse {
        MeResponse(
            userID: device.identity.userID, username: device.username, deviceID: device.identity.deviceID,
            certificateSerial: device.identity.serial, notAfter: Timestamp.string(device.identity.notAfter))
    }

    func renew(_ device: VerifiedDevice, _ request: RenewRequest, now: Date = Date()) async throws
        -> CertificateResponse
    {
        // Renewals per device per hour: certificates are counted by issuance (notBefore is backdated a little).
        let windowStart = now.addingTimeInterval(-3600 - policy.backdate)
        let recent = try await store.certificates(deviceID: device.identity.deviceID).filter {
            $0.notBefore >= windowStart
        }
        if recent.count > settings.renewalsPerHour {
            throw Refusal(.rateLimited, "too many renewals for this device; retry in an hour",
                retryAfter: 3600)
        }
        let issued = try await issuer.renew(
            deviceID: device.identity.deviceID, userID: device.identity.userID,
            previousSerial: device.identity.serial, csr: request.csr, now: now)
        return issued.response(deviceID: device.identity.deviceID, authority: authority, apiURL: apiURL)
    }

    func devices(_ device: VerifiedDevice) async throws -> [DeviceInfo] {
        try await store.devices(userID: device.identity.userID).map { record in
            DeviceInfo(
                deviceID: record.id, name: record.name, status: record.status,
                enrolledAt: Timestamp.string(record.enrolledAt),
                lastSeenAt: record.lastSeenAt.map { Timestamp.string($0) },
                current: record.id == device.identity.deviceID)
        }
    }

    func revoke(_ device: VerifiedDevice, deviceID: String, evidence: SignatureEvidence, now: Date = Date()) async throws
    {
        guard let target = try await store.device(id: deviceID), target.userID == device.identity.userID else {
            throw Refusal.notFound("no such device")
        }
        try await revocation.revoke(
            deviceID: deviceID, actor: "device:\(device.identity.deviceID)", reason: "revoked by the user",
            signature: evidence, now: now)
    }

    func nonce(_ device: VerifiedDevice, now: Date = Date()) async throws -> NonceResponse {
        let value = EnrollmentAuthority.randomToken(bytes: 24)
        let expiresAt = now.addingTimeInterval(settings.nonceLifetime)
        let created = try await store.createNonce(
            value: value, deviceID: device.identity.deviceID, expiresAt: expiresAt, now: now,
            maximumOutstanding: settings.maximumOutstandingNonces)
        guard created else {
            throw Refusal(.rateLimited,
                "this device holds \(settings.maximumOutstandingNonces) unused nonces; use or let them expire first",
                retryAfter: Int(settings.nonceLifetime))
        }
        return NonceResponse(nonce: value, expiresAt: Timestamp.string(expiresAt))
    }
}

/// The demo banking endpoints: an API behind Latchkey (SPEC §4).
///
/// Guarantees: transfers debit only the caller's own account, in its currency, by a positive amount within its
/// balance; money is parsed and printed as decimal strings through integer cents.
public struct DemoBank: Sendable {
    let store: any LatchkeyStore
    static let currencies: Set<String> = ["EUR", "USD", "GBP", "CHF"]

    public init(store: any LatchkeyStore) {
        self.store = store
    }

    func accounts(_ device: VerifiedDevice) async throws -> [AccountInfo] {
        try await store.accounts(userID: device.identity.userID).map {
            AccountInfo(id: $0.id, name: $0.name, currency: $0.currency, balance: Money.format($0.balanceCents))
        }
    }

    func transfer(
        _ device: VerifiedDevice, _ request: TransferRequest, evidence: SignatureEvidence, idempotencyKey: String?,
        now: Date = Date()
    ) async throws -> (response: TransferResponse, replayed: Bool) {
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
        let outcome = try await store.transfer(
            record,
            audit: AuditEntry(
                time: now, actor: "device:\(device.identity.deviceID)", action: "transfer.created",
                subject: record.id, detailsJSON: details.json),
            idempotency: claim)
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

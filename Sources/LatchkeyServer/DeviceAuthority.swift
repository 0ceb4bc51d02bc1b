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
    let settings: ServerSettings
    let apiURL: String

    public init(store: any LatchkeyStore, authority: CertificateAuthority, settings: ServerSettings, apiURL: String)
        throws
    {
        self.store = store
        self.authority = authority
        self.policy = try IssuancePolicy(lifetime: settings.certificateLifetime)
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
        let accepted = try CSRIntake.accept(pem: request.csr)
        let issued = try IssuedCertificate(
            policy.issue(
                accepted, deviceID: device.identity.deviceID, userID: device.identity.userID,
                authority: authority, now: now))
        let record = issued.record(deviceID: device.identity.deviceID)
        try await store.storeRenewal(
            certificate: record,
            audit: AuditEntry(
                time: now, actor: "device:\(device.identity.deviceID)", action: "certificate.renewed",
                subject: device.identity.deviceID,
                detailsJSON: JSONText.object([
                    "previous_serial": device.identity.serial, "serial": record.serial, "key": accepted.keyDescription,
                ])),
            now: now)
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

    func revoke(_ device: VerifiedDevice, deviceID: String, now: Date = Date()) async throws {
        guard let target = try await store.device(id: deviceID), target.userID == device.identity.userID else {
            throw APIError.notFound("no such device")
        }
        _ = try await store.revokeDevice(
            id: deviceID, reason: "revoked by device \(device.identity.deviceID)",
            audit: AuditEntry(
                time: now, actor: "device:\(device.identity.deviceID)", action: "device.revoked", subject: deviceID,
                detailsJSON: JSONText.object(["reason": "revoked by the user"])),
            now: now)
    }

    func nonce(_ device: VerifiedDevice, now: Date = Date()) async throws -> NonceResponse {
        let value = EnrollmentAuthority.randomToken(bytes: 24)
        let expiresAt = now.addingTimeInterval(settings.nonceLifetime)
        try await store.createNonce(value: value, deviceID: device.identity.deviceID, expiresAt: expiresAt)
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

    func transfer(_ device: VerifiedDevice, _ request: TransferRequest, evidence: String, now: Date = Date())
        async throws
        -> TransferResponse
    {
        guard let cents = Money.cents(request.amount), cents > 0 else {
            throw APIError.badRequest(
                "amount must be a positive decimal string with at most two decimals, such as \"12.34\"")
        }
        guard Self.currencies.contains(request.currency) else {
            throw APIError.badRequest("currency must be one of \(Self.currencies.sorted().joined(separator: ", "))")
        }
        guard Self.isAccountReference(request.to), request.to != request.from else {
            throw APIError.badRequest("to must be another account id or an IBAN")
        }
        let transferID = "trf-" + UUID().uuidString.lowercased()
        let balance = try await store.transfer(
            TransferRecord(
                id: transferID, userID: device.identity.userID, deviceID: device.identity.deviceID,
                fromAccount: request.from, toAccount: request.to, amountCents: cents, currency: request.currency,
                createdAt: now),
            audit: AuditEntry(
                time: now, actor: "device:\(device.identity.deviceID)", action: "transfer.created", subject: transferID,
                detailsJSON: evidence))
        return TransferResponse(
            transferID: transferID, from: request.from, to: request.to, amount: Money.format(cents),
            currency: request.currency, balance: Money.format(balance), createdAt: Timestamp.string(now))
    }

    /// An account id (`acc-...`) or an IBAN (two letters, two digits, 11 to 30 letters or digits).
    static func isAccountReference(_ text: String) -> Bool {
        if text.hasPrefix("acc-") {
            return text.count <= 64 && text.allSatisfy { $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-") }
        }
        let chars = Array(text)
        guard (15...34).contains(chars.count) else { return false }
        return chars[0...1].allSatisfy { $0.isASCII && $0.isUppercase }
            && chars[2...3].allSatisfy { $0.isASCII && $0.isNumber }
            && chars[4...].allSatisfy { $0.isASCII && ($0.isUppercase || $0.isNumber) }
    }
}

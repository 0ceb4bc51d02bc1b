import Foundation
import LatchkeyPKI
import LatchkeyProtocol
import LatchkeyStore
import X509

/// Issuance of device certificates, one path for every way a device gets one: enrollment completion, renewal and
/// operator issuance (`latchkey ca sign`). Each runs CSR intake → issuance policy → certificate → store → audit.
///
/// Guarantees: only the CSR's key is used (``IssuancePolicy``); a refused CSR stores nothing; the certificate is
/// returned only once it, its device and its audit event are stored in one transaction; a key that belongs to another
/// active device is refused (`csr_key_in_use`).
public struct DeviceIssuer: Sendable {
    let store: any LatchkeyStore
    let authority: CertificateAuthority
    let policy: IssuancePolicy

    public init(store: any LatchkeyStore, authority: CertificateAuthority, lifetime: TimeInterval) throws {
        self.store = store
        self.authority = authority
        self.policy = try IssuancePolicy(lifetime: lifetime)
    }

    /// The CSR accepted and a certificate issued for it, not yet stored.
    private func issue(
        _ accepted: AcceptedCSR, deviceID: String, userID: String, assurance: DeviceAssurance, now: Date
    ) throws -> (IssuedCertificate, CertificateRecord, key: String) {
        let issued = try policy.issueEncoded(
            accepted, deviceID: deviceID, userID: userID, assurance: assurance, authority: authority, now: now)
        return (issued, Self.record(issued, deviceID: deviceID), accepted.keyDescription)
    }

    /// A new device for a pending enrollment whose code, CSR and attestation were checked.
    func completeEnrollment(
        _ enrollment: EnrollmentRecord, csr accepted: AcceptedCSR, attestation: DeviceAttestation, now: Date
    ) async throws -> (deviceID: String, certificate: IssuedCertificate) {
        let deviceID = Self.newDeviceID()
        let (issued, record, key) = try issue(
            accepted, deviceID: deviceID, userID: enrollment.userID, assurance: attestation.assurance, now: now)
        try await store.completeEnrollment(
            id: enrollment.id,
            device: DeviceRecord(
                id: deviceID, userID: enrollment.userID, name: enrollment.deviceName, enrolledAt: now,
                assurance: attestation.assurance.rawValue, attestKeyID: attestation.appAttestKeyID,
                attestPublicKey: attestation.appAttestPublicKey),
            certificate: record,
            audit: AuditEntry(
                time: now, actor: "user:\(enrollment.userID)", action: "device.enrolled", subject: deviceID,
                detailsJSON: AuditDetails(
                    enrollmentID: enrollment.id, deviceName: enrollment.deviceName, serial: record.serial, key: key,
                    assurance: attestation.assurance.rawValue, attestKeyID: attestation.appAttestKeyID
                ).json),
            now: now)
        return (deviceID, issued)
    }

    /// A new certificate for an active device, with the device's assurance; every earlier one is revoked once it is
    /// stored.
    ///
    /// With `requiredKey` (an Android-attested device, whose attestation covers its TLS key), the CSR must carry that
    /// key: a new key was never attested, so it cannot keep the assurance.
    func renew(
        deviceID: String, userID: String, assurance: DeviceAssurance, previousSerial: String, csr: String,
        requiredKey: Certificate.PublicKey? = nil, now: Date
    ) async throws -> IssuedCertificate {
        let accepted = try CSRIntake.accept(Array(csr.utf8))
        if let requiredKey, accepted.publicKey != requiredKey {
            throw Refusal(
                .attestationRequired,
                "this device's key was attested at enrollment: renew with the same key, or enroll again with a new attested key")
        }
        let (issued, record, key) = try issue(
            accepted, deviceID: deviceID, userID: userID, assurance: assurance, now: now)
        try await store.storeRenewal(
            certificate: record,
            audit: AuditEntry(
                time: now, actor: "device:\(deviceID)", action: "certificate.renewed", subject: deviceID,
                detailsJSON: AuditDetails(serial: record.serial, previousSerial: previousSerial, key: key).json),
            now: now)
        return issued
    }

    /// A new device issued by an operator for a user (`latchkey ca sign`), under the same policy.
    public func issueForOperator(username: String, deviceName: String, csr: [UInt8], now: Date = Date())
        async throws -> (deviceID: String, certificate: IssuedCertificate)
    {
        guard let user = try await store.user(username: username) else {
            throw Refusal(.notFound, "no user \(username) (add one with `latchkey user add`)")
        }
        let deviceName = try DeviceName.validated(deviceName)
        let deviceID = Self.newDeviceID()
        let (issued, record, key) = try issue(
            try CSRIntake.accept(csr), deviceID: deviceID, userID: user.id, assurance: .oob, now: now)
        try await store.addDevice(
            DeviceRecord(id: deviceID, userID: user.id, name: deviceName, enrolledAt: now), certificate: record,
            audit: AuditEntry(
                time: now, actor: "operator", action: "device.issued", subject: deviceID,
                detailsJSON: AuditDetails(deviceName: deviceName, serial: record.serial, key: key).json))
        return (deviceID, issued)
    }

    static func newDeviceID() -> String { "dev-" + UUID().uuidString.lowercased() }

    /// The store's record of an issued certificate.
    static func record(_ issued: IssuedCertificate, deviceID: String) -> CertificateRecord {
        CertificateRecord(
            serial: issued.serialHex, deviceID: deviceID, notBefore: issued.notValidBefore,
            notAfter: issued.notValidAfter, spkiSHA256: issued.spkiSHA256,
            derBase64: Data(issued.der).base64EncodedString())
    }
}

extension IssuedCertificate {
    /// The answer to a completed enrollment or a renewal.
    func response(deviceID: String, authority: CertificateAuthority, apiURL: String) -> CertificateResponse {
        CertificateResponse(
            deviceID: deviceID, certificate: pem, chain: authority.chainPEM,
            notAfter: Timestamp.string(notValidAfter), apiURL: apiURL)
    }
}

/// Revocation of a device and all its certificates, one path for the API (`DELETE /v1/devices/{id}`, signed) and
/// the operator (`latchkey device revoke`).
///
/// Guarantees: the device and every certificate of it are revoked with its audit event in one transaction; every
/// instance refuses it from its next request; the signed request, when there is one, is kept as evidence.
public struct DeviceRevocation: Sendable {
    let store: any LatchkeyStore

    public init(store: any LatchkeyStore) {
        self.store = store
    }

    /// Revokes; false if it was already revoked; `not_found` if there is no such device. A signed request's
    /// `replayGuard` is spent in the same transaction.
    @discardableResult
    public func revoke(
        deviceID: String, actor: String, reason: String, signature: SignatureEvidence? = nil,
        replayGuard: ReplayGuard? = nil, now: Date = Date()
    ) async throws -> Bool {
        try await store.revokeDevice(
            id: deviceID, reason: reason,
            audit: AuditEntry(
                time: now, actor: actor, action: "device.revoked", subject: deviceID,
                detailsJSON: AuditDetails(reason: reason, signature: signature).json),
            now: now, replayGuard: replayGuard)
    }
}

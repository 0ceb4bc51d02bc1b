import Foundation

/// Everything the server keeps: users, enrollments, devices, certificates, nonces and the audit trail.
///
/// Every method is atomic (one statement or one transaction), and both backends (SQLite and PostgreSQL) give the
/// same answers, which one conformance suite checks. Several store instances may share one database.
public protocol LatchkeyStore: Sendable {
    // MARK: Users

    /// Creates a user, their demo accounts and its audit event in one transaction; refuses a taken username with
    /// `username_taken`.
    func createUser(_ user: UserRecord, accounts: [AccountRecord], audit: AuditEntry) async throws
    func user(username: String) async throws -> UserRecord?
    func user(id: String) async throws -> UserRecord?
    func users() async throws -> [UserRecord]
    /// Clears a user's count of wrong codes (the operator's reset after the account limit was hit).
    func resetCodeFailures(userID: String) async throws
    /// Replaces a user's password hash (a rehash at the server's cost after a successful login).
    func updatePasswordHash(userID: String, hash: String) async throws

    // MARK: Failed passwords

    /// Reserves one password attempt for an account name key before the password is checked, and returns the
    /// failures so far and the other attempts still in flight (reserved within the last minute). Concurrent attempts
    /// each see the ones reserved before them.
    func reserveLoginAttempt(key: String, now: Date) async throws -> LoginFailures
    /// Gives back a reserved attempt that was refused without checking the password.
    func releaseLoginAttempt(key: String) async throws
    /// Records that a reserved attempt's password was wrong, at `now`; returns the failures with this one.
    func recordLoginFailure(key: String, now: Date) async throws -> LoginFailures
    func loginFailures(key: String) async throws -> LoginFailures?
    /// Forgets the failures of an account name key (a correct password, or an operator's reset).
    func clearLoginFailures(key: String) async throws

    // MARK: Enrollments

    /// Stores a pending enrollment and its audit event, all or nothing.
    func createEnrollment(_ enrollment: EnrollmentRecord, audit: AuditEntry) async throws
    /// Marks a pending enrollment expired (its code could not be delivered), so it can never complete.
    func abandonEnrollment(id: String) async throws
    func enrollment(id: String) async throws -> EnrollmentRecord?
    /// Counts a wrong code against a pending enrollment and its user, locking the enrollment when its attempts reach
    /// `limit`. Two concurrent calls never both count below the limit.
    func recordWrongCode(enrollmentID: String, limit: Int) async throws -> WrongCodeOutcome
    /// Marks a pending, unexpired enrollment completed and stores its device and certificate and an audit event, all
    /// or nothing. Throws `enrollment_used`, `enrollment_locked`, `enrollment_expired` or `not_found` otherwise,
    /// `csr_key_in_use` when the certificate's key belongs to another active device, and `attestation_reused` when the
    /// device's App Attest key id was enrolled before.
    func completeEnrollment(
        id: String, device: DeviceRecord, certificate: CertificateRecord, audit: AuditEntry, now: Date
    ) async throws
    /// Enrollments started since `since` by a user.
    func enrollmentWindow(userID: String, since: Date) async throws -> EnrollmentWindow
    /// Records an enrollment start attempt from `clientAddress` (whatever its outcome) and returns the attempts from
    /// that address since `since`, this one included; attempts older than `since` from any address are deleted.
    /// Concurrent attempts all see each other, so a limit on the count is never exceeded.
    func recordEnrollmentAttempt(clientAddress: String, at time: Date, since: Date) async throws -> EnrollmentWindow

    // MARK: Devices and certificates

    /// The presented certificate's state and its device's, in one indexed lookup.
    func certificateStatus(serial: String) async throws -> CertificateStatus?
    func certificate(serial: String) async throws -> CertificateRecord?
    func certificates(deviceID: String) async throws -> [CertificateRecord]
    func device(id: String) async throws -> DeviceRecord?
    /// Devices of one user, or of all users when `userID` is nil, oldest first.
    func devices(userID: String?) async throws -> [DeviceRecord]
    /// Revokes a device and every certificate of it. Returns false if it was already revoked; throws `not_found`.
    /// With `replayGuard` (a signed request), the guard is spent in the same transaction (see ``ReplayGuard``).
    func revokeDevice(id: String, reason: String, audit: AuditEntry, now: Date, replayGuard: ReplayGuard?)
        async throws -> Bool
    /// Stores a renewed certificate of an active device, then revokes every earlier certificate of it, in one
    /// transaction serialized per device: concurrent renewals leave exactly one valid certificate. Throws
    /// `csr_key_in_use` when the new key belongs to another active device.
    func storeRenewal(certificate: CertificateRecord, audit: AuditEntry, now: Date) async throws
    /// Stores a device with its certificate and an audit event, all or nothing (operator issuance, `ca sign`).
    func addDevice(_ device: DeviceRecord, certificate: CertificateRecord, audit: AuditEntry) async throws
    /// Every revoked certificate that has not expired at `now` (serial in lowercase hex, revocation time), oldest
    /// revocation first: the content of the issuing CA's CRL.
    func revokedCertificates(now: Date) async throws -> [(serial: String, revokedAt: Date)]
    /// A number that changes (grows) whenever a device or a certificate is revoked, by any instance or the CLI; one
    /// primary-key read, cheap enough to poll ten times a second.
    func revocationVersion() async throws -> Int64
    /// Follows revocations for an identity cache: runs `body` with `readVersion` (the revocation version, read on a
    /// connection of the follower's own), while each revocation committed by any instance or the CLI calls
    /// `onAnnouncement` as soon as the database delivers it (PostgreSQL `LISTEN/NOTIFY`; SQLite announces nothing,
    /// so `body` must poll).
    ///
    /// Guarantees: a `readVersion` that returns has seen every revocation that was not announced since; throws
    /// (`database_unavailable`) once announcements may have been lost: the connection closed, or a read hung for
    /// longer than `readTimeout` (the connection is then closed, and `body`'s reads fail too).
    func followRevocations(
        readTimeout: Duration,
        onAnnouncement: @escaping @Sendable () -> Void,
        _ body: @escaping @Sendable (_ readVersion: @escaping @Sendable () async throws -> Int64) async throws -> Void
    ) async throws
    /// Raises an App Attest device's assertion counter to `counter` if it is greater than the stored one; false
    /// otherwise (a replayed or reordered assertion). Concurrent calls from any instance never both succeed with the
    /// same counter.
    func advanceAssertionCounter(deviceID: String, to counter: Int64) async throws -> Bool
    /// Records when devices were last seen (batched by the caller; one statement per device).
    func recordLastSeen(_ times: [String: Date]) async throws

    // MARK: Nonces

    /// Consumes a nonce (made and checked by the server, see `NonceMinter`) exactly once, also when several
    /// instances race for it: `.consumed` for the one call that records it, `.reused` for every other. Only consumed
    /// nonces are stored, until `expiresAt`; expired records are deleted on the way.
    func consumeNonce(value: String, deviceID: String, expiresAt: Date, now: Date) async throws -> NonceOutcome
    /// Spends a signed request's guard in a transaction of its own (when its handler refused before reaching the
    /// store): throws `device_revoked` or `nonce_reused` and changes nothing, or records the nonce and raises the
    /// assertion counter (throwing `assertion_counter_stale`, the nonce spent, if the counter is not greater).
    func spendReplayGuard(_ replayGuard: ReplayGuard) async throws

    // MARK: Demo banking

    func accounts(userID: String) async throws -> [AccountRecord]
    /// Debits one of the user's accounts if it holds the currency and enough money, credits exactly one destination
    /// account of this bank in the same currency (an IBAN is credited elsewhere), and records the transfer and an
    /// audit event, all or nothing. Throws `account_not_owned`, `account_not_found`, `currency_mismatch` or
    /// `insufficient_funds`. With an idempotency claim, a repeat of the same key by the same device returns the first
    /// transfer and moves nothing (`idempotency_key_reused` if the body differs).
    /// With `replayGuard`, the guard is spent in the same transaction, first: a replay (`nonce_reused`,
    /// `assertion_counter_stale`) moves nothing, and a refusal of the transfer itself still spends the guard.
    func transfer(
        _ transfer: TransferRecord, audit: AuditEntry, idempotency: IdempotencyClaim?, replayGuard: ReplayGuard?
    ) async throws -> TransferOutcome
    /// Every account and transfer (for `audit verify`).
    func moneyLedger() async throws -> MoneyLedger

    // MARK: Audit

    /// Appends an event whose hash chains to the previous one, also under concurrent writers.
    @discardableResult
    func appendAudit(_ entry: AuditEntry) async throws -> AuditRecord
    /// Audit events in sequence order and the head the store recorded, read in one snapshot without blocking writers.
    func auditTrail() async throws -> AuditTrail
    /// The head (last sequence and its hash), for checkpoints kept outside the database.
    func auditHead() async throws -> AuditChain.Checkpoint

    /// Closes connections; the store must not be used afterwards.
    func close() async throws
}

extension LatchkeyStore {
    /// Revokes without a signed request (the CLI, an operator).
    public func revokeDevice(id: String, reason: String, audit: AuditEntry, now: Date) async throws -> Bool {
        try await revokeDevice(id: id, reason: reason, audit: audit, now: now, replayGuard: nil)
    }

    /// A transfer without a signed request (tests, tools).
    public func transfer(_ transfer: TransferRecord, audit: AuditEntry, idempotency: IdempotencyClaim?) async throws
        -> TransferOutcome
    {
        try await self.transfer(transfer, audit: audit, idempotency: idempotency, replayGuard: nil)
    }
}

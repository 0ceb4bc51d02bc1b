import Crypto
import Foundation
import Logging
import SQLKit

/// The ``LatchkeyStore`` on SQL: one set of queries over SQLite (the default) or PostgreSQL.
///
/// Guarantees: each operation is one statement or one transaction; races that matter (wrong codes, completions,
/// nonces, renewals, the audit head) are settled by conditional `UPDATE ... RETURNING` statements, so they hold
/// across several instances on one PostgreSQL database. A failure of the database itself (not a refusal) is
/// thrown as `database_unavailable`, its cause logged without values. Reads never wait for a writer.
public final class SQLStore: LatchkeyStore {
    private let backend: any SQLBackend
    private let auditKey: SymmetricKey
    private let logger: Logger

    init(backend: any SQLBackend, auditKey: SymmetricKey, logger: Logger) {
        self.backend = backend
        self.auditKey = auditKey
        self.logger = logger
    }

    /// Opens the database named by `url`, applies pending migrations, and refuses a database from a newer Latchkey.
    /// `auditKey` keys the audit chain; it must be kept outside the database (the server derives it from the
    /// issuing CA key).
    public static func open(
        _ url: DatabaseURL, logger: Logger = Logger(label: "latchkey.store"), auditKey: SymmetricKey
    ) async throws -> SQLStore {
        let backend: any SQLBackend
        switch url {
        case .sqlite(let path): backend = try await SQLiteBackend(path: path, logger: logger)
        case .postgres: backend = try await PostgresBackend(url: url, logger: logger)
        }
        let store = SQLStore(backend: backend, auditKey: auditKey, logger: logger)
        do {
            try await store.migrate()
        } catch let error as StoreError {
            try? await backend.close()
            throw error
        } catch {
            try? await backend.close()
            throw StoreError(
                .databaseUnavailable, "the database could not be migrated (\(FailureCause.describe(error)))")
        }
        return store
    }

    public func close() async throws {
        try await backend.close()
    }

    // MARK: Migrations

    /// Applies every migration newer than the database's, each in its own transaction.
    func migrate() async throws {
        let begin = backend.beginTransactionSQL
        let lock = backend.migrationLock
        let key = auditKey
        try await backend.withSession { db in
            if let lock { try await db.raw(SQLQueryString(lock.acquire)).run() }
            do {
                try await db.raw(
                    "CREATE TABLE IF NOT EXISTS latchkey_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL)"
                ).run()
                let current =
                    try await db.raw("SELECT MAX(version) AS version FROM latchkey_migrations").first()?
                    .decode(column: "version", as: Int64?.self) ?? 0
                guard current <= Migrations.latestVersion else {
                    throw StoreError(
                        .databaseTooNew,
                        "the database is at schema version \(current) but this Latchkey knows only up to \(Migrations.latestVersion); upgrade Latchkey (the database was not changed)"
                    )
                }
                for migration in Migrations.all where migration.version > current {
                    try await db.raw(SQLQueryString(begin)).run()
                    do {
                        // Another process may have applied it meanwhile (SQLite has no migration lock; the write
                        // transaction orders the two): skip what the database already has.
                        let applied =
                            try await db.raw("SELECT MAX(version) AS version FROM latchkey_migrations").first()?
                            .decode(column: "version", as: Int64?.self) ?? 0
                        if applied >= migration.version {
                            try await db.raw("COMMIT").run()
                            continue
                        }
                        for statement in migration.statements { try await db.raw(SQLQueryString(statement)).run() }
                        if migration.version == AuditChain.keyedFromMigration {
                            try await Self.anchorLegacyEvents(db, key: key)
                        }
                        try await db.raw(
                            "INSERT INTO latchkey_migrations (version, applied_at) VALUES (\(bind: migration.version), \(bind: Self.millis(Date())))"
                        ).run()
                        try await db.raw("COMMIT").run()
                    } catch {
                        try? await db.raw("ROLLBACK").run()
                        throw error
                    }
                }
            } catch {
                if let lock { try? await db.raw(SQLQueryString(lock.release)).run() }
                throw error
            }
            if let lock { try await db.raw(SQLQueryString(lock.release)).run() }
        }
    }

    /// The schema version recorded in the database.
    public func schemaVersion() async throws -> Int64 {
        try await backend.withSession { db in
            try await db.raw("SELECT MAX(version) AS version FROM latchkey_migrations").first()?
                .decode(column: "version", as: Int64?.self) ?? 0
        }
    }

    // MARK: Helpers

    /// A read on a connection that never waits for a writer (SQLite: the reader connection of WAL mode).
    private func read<R: Sendable>(_ body: @Sendable @escaping (any SQLDatabase) async throws -> R) async throws -> R {
        try await unavailableOnFailure { try await self.backend.withReadSession(body) }
    }

    /// Several reads in one snapshot, without a write lock.
    private func readTransaction<R: Sendable>(
        _ body: @Sendable @escaping (any SQLDatabase) async throws -> R
    ) async throws -> R {
        let begin = backend.beginReadTransactionSQL
        return try await unavailableOnFailure {
            try await self.backend.withReadSession { db in try await Self.inTransaction(db, begin: begin, body) }
        }
    }

    private func transaction<R: Sendable>(
        _ body: @Sendable @escaping (any SQLDatabase) async throws -> R
    ) async throws -> R {
        let begin = backend.beginTransactionSQL
        if let group = backend.groupCommit {
            return try await unavailableOnFailure { try await group.run(body) }
        }
        return try await unavailableOnFailure {
            try await self.backend.withSession { db in try await Self.inTransaction(db, begin: begin, body) }
        }
    }

    /// `body` between `begin` and COMMIT, rolled back if it throws.
    private static func inTransaction<R: Sendable>(
        _ db: any SQLDatabase, begin: String, _ body: (any SQLDatabase) async throws -> R
    ) async throws -> R {
        try await db.raw(SQLQueryString(begin)).run()
        do {
            let result = try await body(db)
            try await db.raw("COMMIT").run()
            return result
        } catch {
            try? await db.raw("ROLLBACK").run()
            throw error
        }
    }

    /// Refusals (``StoreError``) pass; any other failure (disk full, connection lost, busy) is
    /// `database_unavailable`, with only its ``FailureCause`` in the log (unless `logged` is false).
    private func unavailableOnFailure<R: Sendable>(logged: Bool = true, _ body: () async throws -> R) async throws
        -> R
    {
        do {
            return try await body()
        } catch let error as StoreError {
            throw error
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            if logged {
                logger.error("database operation failed", metadata: ["error": "\(FailureCause.describe(error))"])
            }
            throw StoreError(.databaseUnavailable, "the database is unavailable")
        }
    }

    static func millis(_ date: Date) -> Int64 { Int64((date.timeIntervalSince1970 * 1000).rounded()) }
    static func date(_ millis: Int64) -> Date { Date(timeIntervalSince1970: Double(millis) / 1000) }
    static func date(_ millis: Int64?) -> Date? { millis.map { date($0) } }

    // MARK: Users

    public func createUser(_ user: UserRecord, accounts: [AccountRecord], audit: AuditEntry) async throws {
        let key = auditKey
        let inserted = try await transaction { db in
            let created =
                try await db.raw(
                    """
                    INSERT INTO users (id, username, password_hash, phone, email, status, failed_code_attempts, created_at)
                    VALUES (\(bind: user.id), \(bind: user.username), \(bind: user.passwordHash), \(bind: user.phone),
                      \(bind: user.email), \(bind: user.status.rawValue), \(bind: Int64(user.failedCodeAttempts)),
                      \(bind: Self.millis(user.createdAt)))
                    ON CONFLICT (username) DO NOTHING RETURNING id
                    """
                ).first() != nil
            guard created else { return false }
            for account in accounts {
                try await db.raw(
                    """
                    INSERT INTO accounts (id, user_id, name, currency, balance_cents, created_at)
                    VALUES (\(bind: account.id), \(bind: user.id), \(bind: account.name), \(bind: account.currency),
                      \(bind: account.balanceCents), \(bind: Self.millis(user.createdAt)))
                    """
                ).run()
            }
            try await Self.appendAudit(db, audit, key: key)
            return true
        }
        guard inserted else { throw StoreError(.usernameTaken, "the username '\(user.username)' is taken") }
    }

    private static let userColumns =
        "id, username, password_hash, phone, email, status, failed_code_attempts, created_at"

    private static func user(_ row: any SQLRow) throws -> UserRecord {
        UserRecord(
            id: try row.decode(column: "id", as: String.self),
            username: try row.decode(column: "username", as: String.self),
            passwordHash: try row.decode(column: "password_hash", as: String.self),
            phone: try row.decode(column: "phone", as: String.self),
            email: try row.decode(column: "email", as: String?.self),
            status: UserStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .disabled,
            failedCodeAttempts: Int(try row.decode(column: "failed_code_attempts", as: Int64.self)),
            createdAt: date(try row.decode(column: "created_at", as: Int64.self)))
    }

    public func user(username: String) async throws -> UserRecord? {
        try await read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.userColumns) FROM users WHERE username = \(bind: username)")
                .first().map(Self.user)
        }
    }

    public func user(id: String) async throws -> UserRecord? {
        try await read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.userColumns) FROM users WHERE id = \(bind: id)").first().map(
                Self.user)
        }
    }

    public func users() async throws -> [UserRecord] {
        try await read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.userColumns) FROM users ORDER BY created_at, username").all()
                .map(Self.user)
        }
    }

    public func resetCodeFailures(userID: String) async throws {
        let updated = try await transaction { db in
            try await db.raw("UPDATE users SET failed_code_attempts = 0 WHERE id = \(bind: userID) RETURNING id")
                .first()
                != nil
        }
        guard updated else { throw StoreError(.notFound, "no such user") }
    }

    public func updatePasswordHash(userID: String, hash: String) async throws {
        try await transaction { db in
            try await db.raw("UPDATE users SET password_hash = \(bind: hash) WHERE id = \(bind: userID)").run()
        }
    }

    // MARK: Failed passwords

    private static func loginFailures(_ row: any SQLRow, pending: Int = 0) throws -> LoginFailures {
        let last = try row.decode(column: "last_failure_at", as: Int64.self)
        return LoginFailures(
            count: Int(try row.decode(column: "failures", as: Int64.self)), lastFailure: last == 0 ? nil : date(last),
            pending: pending)
    }

    public func reserveLoginAttempt(key: String, now: Date) async throws -> LoginFailures {
        let millis = Self.millis(now)
        // Reservations older than a minute belong to attempts that died (a password check takes well under one).
        let stale = millis - 60_000
        return try await transaction { db in
            guard
                let row = try await db.raw(
                    """
                    INSERT INTO login_failures (name_key, failures, last_failure_at, pending, pending_at)
                    VALUES (\(bind: key), 0, 0, 1, \(bind: millis))
                    ON CONFLICT (name_key) DO UPDATE SET
                      pending = CASE WHEN login_failures.pending_at < \(bind: stale) THEN 1
                        ELSE login_failures.pending + 1 END,
                      pending_at = \(bind: millis)
                    RETURNING failures, last_failure_at, pending
                    """
                ).first()
            else { throw StoreError(.databaseUnavailable, "the attempt was not counted") }
            return try Self.loginFailures(row, pending: Int(try row.decode(column: "pending", as: Int64.self)) - 1)
        }
    }

    public func releaseLoginAttempt(key: String) async throws {
        try await transaction { db in
            try await db.raw(
                "UPDATE login_failures SET pending = pending - 1 WHERE name_key = \(bind: key) AND pending > 0"
            ).run()
        }
    }

    public func recordLoginFailure(key: String, now: Date) async throws -> LoginFailures {
        try await transaction { db in
            guard
                let row = try await db.raw(
                    """
                    INSERT INTO login_failures (name_key, failures, last_failure_at)
                    VALUES (\(bind: key), 1, \(bind: Self.millis(now)))
                    ON CONFLICT (name_key) DO UPDATE SET failures = login_failures.failures + 1,
                      last_failure_at = \(bind: Self.millis(now)),
                      pending = CASE WHEN login_failures.pending > 0 THEN login_failures.pending - 1 ELSE 0 END
                    RETURNING failures, last_failure_at
                    """
                ).first()
            else { throw StoreError(.databaseUnavailable, "the failure was not stored") }
            return try Self.loginFailures(row)
        }
    }

    public func loginFailures(key: String) async throws -> LoginFailures? {
        try await read { db in
            try await db.raw("SELECT failures, last_failure_at FROM login_failures WHERE name_key = \(bind: key)")
                .first().map { try Self.loginFailures($0) }
        }
    }

    public func clearLoginFailures(key: String) async throws {
        try await transaction { db in
            try await db.raw("DELETE FROM login_failures WHERE name_key = \(bind: key)").run()
        }
    }

    // MARK: Enrollments

    public func abandonEnrollment(id: String) async throws {
        try await transaction { db in
            try await db.raw("UPDATE enrollments SET status = 'expired' WHERE id = \(bind: id) AND status = 'pending'")
                .run()
        }
    }

    public func createEnrollment(_ e: EnrollmentRecord, audit: AuditEntry) async throws {
        let key = auditKey
        try await transaction { db in
            try await db.raw(
                """
                INSERT INTO enrollments (id, user_id, device_name, channel, destination, code_hash, attempts, expires_at,
                  status, client_address, created_at, attestation_challenge)
                VALUES (\(bind: e.id), \(bind: e.userID), \(bind: e.deviceName), \(bind: e.channel),
                  \(bind: e.destination), \(bind: e.codeHash), \(bind: Int64(e.attempts)), \(bind: Self.millis(e.expiresAt)),
                  \(bind: e.status.rawValue), \(bind: e.clientAddress), \(bind: Self.millis(e.createdAt)),
                  \(bind: e.attestationChallenge))
                """
            ).run()
            try await Self.appendAudit(db, audit, key: key)
        }
    }

    private static func enrollment(_ row: any SQLRow) throws -> EnrollmentRecord {
        EnrollmentRecord(
            id: try row.decode(column: "id", as: String.self),
            userID: try row.decode(column: "user_id", as: String.self),
            deviceName: try row.decode(column: "device_name", as: String.self),
            channel: try row.decode(column: "channel", as: String.self),
            destination: try row.decode(column: "destination", as: String.self),
            codeHash: try row.decode(column: "code_hash", as: String.self),
            attempts: Int(try row.decode(column: "attempts", as: Int64.self)),
            expiresAt: date(try row.decode(column: "expires_at", as: Int64.self)),
            status: EnrollmentRecord.Status(rawValue: try row.decode(column: "status", as: String.self)) ?? .expired,
            clientAddress: try row.decode(column: "client_address", as: String?.self),
            createdAt: date(try row.decode(column: "created_at", as: Int64.self)),
            attestationChallenge: try row.decode(column: "attestation_challenge", as: String?.self))
    }

    private static func fetchEnrollment(_ db: any SQLDatabase, _ id: String) async throws -> EnrollmentRecord? {
        try await db.raw(
            """
            SELECT id, user_id, device_name, channel, destination, code_hash, attempts, expires_at, status, client_address,
              created_at, attestation_challenge FROM enrollments WHERE id = \(bind: id)
            """
        ).first().map(Self.enrollment)
    }

    public func enrollment(id: String) async throws -> EnrollmentRecord? {
        try await read { db in try await Self.fetchEnrollment(db, id) }
    }

    /// The error for an enrollment that a conditional update did not match.
    private static func notPending(_ db: any SQLDatabase, _ id: String, now: Date) async throws -> StoreError {
        guard let current = try await fetchEnrollment(db, id) else {
            return StoreError(.notFound, "no such enrollment")
        }
        switch current.status {
        case .completed: return StoreError(.enrollmentUsed, "the enrollment was already completed")
        case .locked: return StoreError(.enrollmentLocked, "the enrollment is locked after too many wrong codes")
        case .expired: return StoreError(.enrollmentExpired, "the enrollment expired")
        case .pending:
            return current.expiresAt <= now
                ? StoreError(.enrollmentExpired, "the enrollment expired")
                : StoreError(.conflict, "the enrollment changed concurrently")
        }
    }

    public func recordWrongCode(enrollmentID: String, limit: Int) async throws -> WrongCodeOutcome {
        try await transaction { db in
            guard
                let row = try await db.raw(
                    """
                    UPDATE enrollments SET attempts = attempts + 1,
                      status = CASE WHEN attempts + 1 >= \(bind: Int64(limit)) THEN 'locked' ELSE status END
                    WHERE id = \(bind: enrollmentID) AND status = 'pending'
                    RETURNING attempts, status, user_id
                    """
                ).first()
            else {
                throw try await Self.notPending(db, enrollmentID, now: Date())
            }
            let userID = try row.decode(column: "user_id", as: String.self)
            let userFailures =
                try await db.raw(
                    """
                    UPDATE users SET failed_code_attempts = failed_code_attempts + 1 WHERE id = \(bind: userID)
                    RETURNING failed_code_attempts
                    """
                ).first()?.decode(column: "failed_code_attempts", as: Int64.self) ?? 0
            return WrongCodeOutcome(
                attempts: Int(try row.decode(column: "attempts", as: Int64.self)),
                locked: try row.decode(column: "status", as: String.self) == "locked",
                userFailedAttempts: Int(userFailures))
        }
    }

    public func completeEnrollment(
        id: String, device: DeviceRecord, certificate: CertificateRecord, audit: AuditEntry, now: Date
    ) async throws {
        let key = auditKey
        try await transaction { db in
            let matched =
                try await db.raw(
                    """
                    UPDATE enrollments SET status = 'completed', device_id = \(bind: device.id)
                    WHERE id = \(bind: id) AND status = 'pending' AND expires_at > \(bind: Self.millis(now))
                    RETURNING user_id
                    """
                ).first() != nil
            guard matched else { throw try await Self.notPending(db, id, now: now) }
            try await Self.insertDevice(db, device)
            try await Self.claimKey(db, spkiSHA256: certificate.spkiSHA256, deviceID: device.id)
            try await Self.insertCertificate(db, certificate)
            try await Self.appendAudit(db, audit, key: key)
        }
    }

    public func enrollmentWindow(userID: String, since: Date) async throws -> EnrollmentWindow {
        try await read { db in
            try Self.window(
                try await db.raw(
                    """
                    SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM enrollments
                    WHERE user_id = \(bind: userID) AND created_at >= \(bind: Self.millis(since))
                    """
                ).first())
        }
    }

    public func recordEnrollmentAttempt(clientAddress: String, at time: Date, since: Date) async throws
        -> EnrollmentWindow
    {
        try await transaction { db in
            try await db.raw("DELETE FROM enrollment_attempts WHERE created_at < \(bind: Self.millis(since))").run()
            try await db.raw(
                """
                INSERT INTO enrollment_attempts (client_address, created_at)
                VALUES (\(bind: clientAddress), \(bind: Self.millis(time)))
                """
            ).run()
            return try Self.window(
                try await db.raw(
                    """
                    SELECT COUNT(*) AS n, MIN(created_at) AS oldest FROM enrollment_attempts
                    WHERE client_address = \(bind: clientAddress) AND created_at >= \(bind: Self.millis(since))
                    """
                ).first())
        }
    }

    private static func window(_ row: (any SQLRow)?) throws -> EnrollmentWindow {
        guard let row else { return EnrollmentWindow(count: 0, oldest: nil) }
        return EnrollmentWindow(
            count: Int(try row.decode(column: "n", as: Int64.self)),
            oldest: date(try row.decode(column: "oldest", as: Int64?.self)))
    }

    // MARK: Devices and certificates

    private static func insertDevice(_ db: any SQLDatabase, _ d: DeviceRecord) async throws {
        try await db.raw(
            """
            INSERT INTO devices (id, user_id, name, status, enrolled_at, last_seen_at, revoked_at, revocation_reason,
              assurance, attest_key_id, attest_public_key, assertion_counter)
            VALUES (\(bind: d.id), \(bind: d.userID), \(bind: d.name), \(bind: d.status.rawValue), \(bind: millis(d.enrolledAt)),
              \(bind: d.lastSeenAt.map(millis)), \(bind: d.revokedAt.map(millis)), \(bind: d.revocationReason),
              \(bind: d.assurance), \(bind: d.attestKeyID), \(bind: d.attestPublicKey), \(bind: d.assertionCounter))
            """
        ).run()
        guard let keyID = d.attestKeyID else { return }
        // The primary key settles two enrollments racing with one key id, on every backend.
        let claimed =
            try await db.raw(
                """
                INSERT INTO attested_keys (key_id, device_id) VALUES (\(bind: keyID), \(bind: d.id))
                ON CONFLICT (key_id) DO NOTHING RETURNING device_id
                """
            ).first() != nil
        if !claimed { throw StoreError(.attestationReused, "this App Attest key was already enrolled") }
    }

    private static func insertCertificate(_ db: any SQLDatabase, _ c: CertificateRecord) async throws {
        try await db.raw(
            """
            INSERT INTO certificates (serial, device_id, not_before, not_after, spki_sha256, der, revoked_at)
            VALUES (\(bind: c.serial), \(bind: c.deviceID), \(bind: millis(c.notBefore)), \(bind: millis(c.notAfter)),
              \(bind: c.spkiSHA256), \(bind: c.derBase64), \(bind: c.revokedAt.map(millis)))
            """
        ).run()
    }

    /// Records that a key belongs to a device; refuses with `csr_key_in_use` a key of another active device. The
    /// primary key on the SPKI hash settles concurrent claims on every backend.
    private static func claimKey(_ db: any SQLDatabase, spkiSHA256: String, deviceID: String) async throws {
        let claimed =
            try await db.raw(
                """
                INSERT INTO device_keys (spki_sha256, device_id) VALUES (\(bind: spkiSHA256), \(bind: deviceID))
                ON CONFLICT (spki_sha256) DO NOTHING RETURNING device_id
                """
            ).first() != nil
        if claimed { return }
        let taken =
            try await db.raw(
                """
                UPDATE device_keys SET device_id = \(bind: deviceID)
                WHERE spki_sha256 = \(bind: spkiSHA256)
                  AND (device_id = \(bind: deviceID)
                    OR device_id IN (SELECT id FROM devices WHERE status <> 'active'))
                RETURNING device_id
                """
            ).first() == nil
        if taken { throw StoreError(.keyInUse, "this key already belongs to another enrolled device") }
    }

    public func certificateStatus(serial: String) async throws -> CertificateStatus? {
        try await read { db in
            guard
                let row = try await db.raw(
                    """
                    SELECT c.serial, c.device_id, d.user_id, c.not_after, c.revoked_at, d.status, u.username,
                        u.status AS user_status, d.assurance, d.attest_public_key
                    FROM certificates c JOIN devices d ON d.id = c.device_id JOIN users u ON u.id = d.user_id
                    WHERE c.serial = \(bind: serial)
                    """
                ).first()
            else { return nil }
            return CertificateStatus(
                serial: try row.decode(column: "serial", as: String.self),
                deviceID: try row.decode(column: "device_id", as: String.self),
                userID: try row.decode(column: "user_id", as: String.self),
                notAfter: Self.date(try row.decode(column: "not_after", as: Int64.self)),
                certificateRevokedAt: Self.date(try row.decode(column: "revoked_at", as: Int64?.self)),
                deviceStatus: DeviceStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .revoked,
                username: try row.decode(column: "username", as: String.self),
                userStatus: UserStatus(rawValue: try row.decode(column: "user_status", as: String.self)) ?? .disabled,
                assurance: try row.decode(column: "assurance", as: String.self),
                attestPublicKey: try row.decode(column: "attest_public_key", as: String?.self))
        }
    }

    private static let certificateColumns = "serial, device_id, not_before, not_after, spki_sha256, der, revoked_at"

    private static func certificate(_ row: any SQLRow) throws -> CertificateRecord {
        CertificateRecord(
            serial: try row.decode(column: "serial", as: String.self),
            deviceID: try row.decode(column: "device_id", as: String.self),
            notBefore: date(try row.decode(column: "not_before", as: Int64.self)),
            notAfter: date(try row.decode(column: "not_after", as: Int64.self)),
            spkiSHA256: try row.decode(column: "spki_sha256", as: String.self),
            derBase64: try row.decode(column: "der", as: String.self),
            revokedAt: date(try row.decode(column: "revoked_at", as: Int64?.self)))
    }

    public func certificate(serial: String) async throws -> CertificateRecord? {
        try await read { db in
            try await db.raw(
                "SELECT \(unsafeRaw: Self.certificateColumns) FROM certificates WHERE serial = \(bind: serial)"
            )
            .first().map(Self.certificate)
        }
    }

    public func certificates(deviceID: String) async throws -> [CertificateRecord] {
        try await read { db in
            try await db.raw(
                "SELECT \(unsafeRaw: Self.certificateColumns) FROM certificates WHERE device_id = \(bind: deviceID) ORDER BY not_before, serial"
            ).all().map(Self.certificate)
        }
    }

    private static let deviceColumns =
        """
        id, user_id, name, status, enrolled_at, last_seen_at, revoked_at, revocation_reason, assurance, attest_key_id,
          attest_public_key, assertion_counter
        """

    private static func device(_ row: any SQLRow) throws -> DeviceRecord {
        DeviceRecord(
            id: try row.decode(column: "id", as: String.self),
            userID: try row.decode(column: "user_id", as: String.self),
            name: try row.decode(column: "name", as: String.self),
            status: DeviceStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .revoked,
            enrolledAt: date(try row.decode(column: "enrolled_at", as: Int64.self)),
            lastSeenAt: date(try row.decode(column: "last_seen_at", as: Int64?.self)),
            revokedAt: date(try row.decode(column: "revoked_at", as: Int64?.self)),
            revocationReason: try row.decode(column: "revocation_reason", as: String?.self),
            assurance: try row.decode(column: "assurance", as: String.self),
            attestKeyID: try row.decode(column: "attest_key_id", as: String?.self),
            attestPublicKey: try row.decode(column: "attest_public_key", as: String?.self),
            assertionCounter: try row.decode(column: "assertion_counter", as: Int64.self))
    }

    public func device(id: String) async throws -> DeviceRecord? {
        try await read { db in
            try await db.raw("SELECT \(unsafeRaw: Self.deviceColumns) FROM devices WHERE id = \(bind: id)").first()
                .map(Self.device)
        }
    }

    public func devices(userID: String?) async throws -> [DeviceRecord] {
        try await read { db in
            let rows: [any SQLRow]
            if let userID {
                rows = try await db.raw(
                    "SELECT \(unsafeRaw: Self.deviceColumns) FROM devices WHERE user_id = \(bind: userID) ORDER BY enrolled_at, id"
                ).all()
            } else {
                rows = try await db.raw("SELECT \(unsafeRaw: Self.deviceColumns) FROM devices ORDER BY enrolled_at, id")
                    .all()
            }
            return try rows.map(Self.device)
        }
    }

    public func revokeDevice(
        id: String, reason: String, audit: AuditEntry, now: Date, replayGuard: ReplayGuard?
    ) async throws -> Bool {
        let key = auditKey
        let announce = backend.announceRevocationSQL
        return try await guardedTransaction(replayGuard) { db in
            let changed =
                try await db.raw(
                    """
                    UPDATE devices SET status = 'revoked', revoked_at = \(bind: Self.millis(now)),
                      revocation_reason = \(bind: reason)
                    WHERE id = \(bind: id) AND status = 'active' RETURNING id
                    """
                ).first() != nil
            guard changed else {
                guard try await db.raw("SELECT id FROM devices WHERE id = \(bind: id)").first() != nil else {
                    throw StoreError(.notFound, "no such device")
                }
                return false
            }
            try await db.raw(
                "UPDATE certificates SET revoked_at = \(bind: Self.millis(now)) WHERE device_id = \(bind: id) AND revoked_at IS NULL"
            ).run()
            try await db.raw("DELETE FROM device_keys WHERE device_id = \(bind: id)").run()
            try await Self.bumpRevocationVersion(db, announce: announce)
            try await Self.appendAudit(db, audit, key: key)
            return true
        }
    }

    public func storeRenewal(certificate: CertificateRecord, audit: AuditEntry, now: Date) async throws {
        let key = auditKey
        let announce = backend.announceRevocationSQL
        try await transaction { db in
            // Locks the device row (PostgreSQL) so that renewals of one device run one after the other.
            let active =
                try await db.raw(
                    """
                    UPDATE devices SET renewed_at = \(bind: Self.millis(now))
                    WHERE id = \(bind: certificate.deviceID) AND status = 'active' RETURNING id
                    """
                ).first() != nil
            guard active else {
                guard try await db.raw("SELECT id FROM devices WHERE id = \(bind: certificate.deviceID)").first() != nil
                else { throw StoreError(.notFound, "no such device") }
                throw StoreError(.deviceRevoked, "the device is revoked")
            }
            try await Self.claimKey(db, spkiSHA256: certificate.spkiSHA256, deviceID: certificate.deviceID)
            try await db.raw(
                """
                DELETE FROM device_keys
                WHERE device_id = \(bind: certificate.deviceID) AND spki_sha256 <> \(bind: certificate.spkiSHA256)
                """
            ).run()
            try await Self.insertCertificate(db, certificate)
            try await db.raw(
                """
                UPDATE certificates SET revoked_at = \(bind: Self.millis(now))
                WHERE device_id = \(bind: certificate.deviceID) AND serial <> \(bind: certificate.serial) AND revoked_at IS NULL
                """
            ).run()
            try await Self.bumpRevocationVersion(db, announce: announce)
            try await Self.appendAudit(db, audit, key: key)
        }
    }

    public func addDevice(_ device: DeviceRecord, certificate: CertificateRecord, audit: AuditEntry) async throws {
        let key = auditKey
        try await transaction { db in
            guard try await db.raw("SELECT id FROM users WHERE id = \(bind: device.userID)").first() != nil else {
                throw StoreError(.notFound, "no such user")
            }
            try await Self.insertDevice(db, device)
            try await Self.claimKey(db, spkiSHA256: certificate.spkiSHA256, deviceID: device.id)
            try await Self.insertCertificate(db, certificate)
            try await Self.appendAudit(db, audit, key: key)
        }
    }

    public func revokedCertificates(now: Date) async throws -> [(serial: String, revokedAt: Date)] {
        try await read { db in
            try await db.raw(
                """
                SELECT serial, revoked_at FROM certificates
                WHERE revoked_at IS NOT NULL AND not_after > \(bind: Self.millis(now)) ORDER BY revoked_at, serial
                """
            ).all().map { row in
                (
                    serial: try row.decode(column: "serial", as: String.self),
                    revokedAt: Self.date(try row.decode(column: "revoked_at", as: Int64.self))
                )
            }
        }
    }

    public func revocationVersion() async throws -> Int64 {
        try await read(Self.readRevocationVersion)
    }

    public func followRevocations(
        readTimeout: Duration,
        onAnnouncement: @escaping @Sendable () -> Void,
        _ body: @escaping @Sendable (_ readVersion: @escaping @Sendable () async throws -> Int64) async throws -> Void
    ) async throws {
        try await unavailableOnFailure {
            try await self.backend.followRevocations(
                query: Self.readRevocationVersion, readTimeout: readTimeout, onAnnouncement: onAnnouncement
            ) { readVersion in
                // Not logged per read (ten a second while the database is away): the tracker logs once per outage.
                try await body { try await self.unavailableOnFailure(logged: false, readVersion) }
            }
        }
    }

    private static func readRevocationVersion(_ db: any SQLDatabase) async throws -> Int64 {
        // A missing row is an error, not version 0: identity caches must stop trusting memory.
        guard let row = try await db.raw("SELECT version FROM revocation_head WHERE id = 1").first() else {
            throw StoreError(.databaseUnavailable, "the revocation_head row is missing")
        }
        return try row.decode(column: "version", as: Int64.self)
    }

    /// Inside a transaction that revoked something: tells every instance's identity cache (see `revocationVersion`),
    /// and announces it where the database can (`announce`, delivered on commit). Without the row the whole
    /// revocation fails rather than going unseen.
    private static func bumpRevocationVersion(_ db: any SQLDatabase, announce: String?) async throws {
        guard try await db.raw("UPDATE revocation_head SET version = version + 1 WHERE id = 1 RETURNING version").first()
            != nil
        else { throw StoreError(.databaseUnavailable, "the revocation_head row is missing") }
        if let announce { try await db.raw(SQLQueryString(announce)).run() }
    }

    public func advanceAssertionCounter(deviceID: String, to counter: Int64) async throws -> Bool {
        try await transaction { db in try await Self.advanceAssertionCounter(db, deviceID: deviceID, to: counter) }
    }

    private static func advanceAssertionCounter(_ db: any SQLDatabase, deviceID: String, to counter: Int64)
        async throws -> Bool
    {
        try await db.raw(
            """
            UPDATE devices SET assertion_counter = \(bind: counter)
            WHERE id = \(bind: deviceID) AND assertion_counter < \(bind: counter) AND status = 'active'
            RETURNING id
            """
        ).first() != nil
    }

    public func recordLastSeen(_ times: [String: Date]) async throws {
        guard !times.isEmpty else { return }
        try await transaction { db in
            for (deviceID, time) in times {
                let millis = Self.millis(time)
                try await db.raw(
                    """
                    UPDATE devices SET last_seen_at = \(bind: millis)
                    WHERE id = \(bind: deviceID) AND (last_seen_at IS NULL OR last_seen_at < \(bind: millis))
                    """
                ).run()
            }
        }
    }

    // MARK: Nonces

    /// How long a consumed nonce's record outlives the nonce: more than any clock difference between instances.
    static let consumedNonceGraceMillis: Int64 = 600_000

    public func consumeNonce(value: String, deviceID: String, expiresAt: Date, now: Date) async throws
        -> NonceOutcome
    {
        try await transaction { db in
            try await Self.consumeNonce(db, value: value, deviceID: deviceID, expiresAt: expiresAt, now: now)
                ? .consumed : .reused
        }
    }

    public func spendReplayGuard(_ replayGuard: ReplayGuard) async throws {
        if let refusal = try await transaction({ db in try await Self.spend(replayGuard, db) }) { throw refusal }
    }

    /// Records a nonce as consumed; false if it was before (by any instance).
    private static func consumeNonce(
        _ db: any SQLDatabase, value: String, deviceID: String, expiresAt: Date, now: Date
    ) async throws -> Bool {
        // Records are kept 10 minutes past their nonce's expiry: an instance whose clock is behind (or a check
        // a millisecond before expiry) still finds the record, so a replay is never taken for a first use.
        let purgeBefore = Self.millis(now) - Self.consumedNonceGraceMillis
        try await db.raw("DELETE FROM consumed_nonces WHERE expires_at <= \(bind: purgeBefore)").run()
        return try await db.raw(
            """
            INSERT INTO consumed_nonces (value, device_id, expires_at)
            VALUES (\(bind: value), \(bind: deviceID), \(bind: Self.millis(expiresAt)))
            ON CONFLICT (value) DO NOTHING RETURNING value
            """
        ).first() != nil
    }

    /// A write transaction that first spends `replayGuard` (a replay, or a device no longer active, throws and moves
    /// nothing), then runs `body` in a savepoint: a refusal by `body` (see ``StoreError/isRefusal``) is rolled back to
    /// the savepoint, the guard's spending is committed, and the refusal is thrown after the commit, so a refused
    /// signed request cannot be replayed either. A stale assertion counter is such a refusal: the nonce stays spent.
    private func guardedTransaction<R: Sendable>(
        _ replayGuard: ReplayGuard?, _ body: @Sendable @escaping (any SQLDatabase) async throws -> R
    ) async throws -> R {
        guard let replayGuard else { return try await transaction(body) }
        let outcome: Result<R, StoreError> = try await transaction { db in
            if let refusal = try await Self.spend(replayGuard, db) { return .failure(refusal) }
            try await db.raw("SAVEPOINT signed_request").run()
            do {
                let result = try await body(db)
                try await db.raw("RELEASE SAVEPOINT signed_request").run()
                return .success(result)
            } catch let refusal as StoreError where refusal.isRefusal {
                try await db.raw("ROLLBACK TO SAVEPOINT signed_request").run()
                try await db.raw("RELEASE SAVEPOINT signed_request").run()
                return .failure(refusal)
            }
        }
        return try outcome.get()
    }

    /// Spends a guard inside a write transaction: throws `device_revoked` (the device is no longer active) or
    /// `nonce_reused`, which change nothing; otherwise records the nonce, and returns `assertion_counter_stale` (to be
    /// thrown after the commit, the nonce staying spent) if the assertion counter does not exceed the stored one.
    private static func spend(_ replayGuard: ReplayGuard, _ db: any SQLDatabase) async throws -> StoreError? {
        // The device's state at commit time: a revocation that landed after the request's identity check wins.
        guard
            try await db.raw(
                "SELECT id FROM devices WHERE id = \(bind: replayGuard.deviceID) AND status = 'active'"
            ).first() != nil
        else { throw StoreError(.deviceRevoked, "the device is revoked") }
        guard
            try await consumeNonce(
                db, value: replayGuard.nonce, deviceID: replayGuard.deviceID,
                expiresAt: replayGuard.nonceExpiresAt, now: replayGuard.now)
        else { throw StoreError(.nonceReused, "this nonce was already used") }
        if let counter = replayGuard.assertionCounter,
            try await !advanceAssertionCounter(db, deviceID: replayGuard.deviceID, to: counter)
        {
            return StoreError(.assertionCounterStale, "the assertion counter is not greater than the last one seen")
        }
        return nil
    }

    // MARK: Demo banking

    public func accounts(userID: String) async throws -> [AccountRecord] {
        try await read { db in
            try await db.raw(
                "SELECT id, user_id, name, currency, balance_cents FROM accounts WHERE user_id = \(bind: userID) ORDER BY created_at, name, id"
            ).all().map { row in
                AccountRecord(
                    id: try row.decode(column: "id", as: String.self),
                    userID: try row.decode(column: "user_id", as: String.self),
                    name: try row.decode(column: "name", as: String.self),
                    currency: try row.decode(column: "currency", as: String.self),
                    balanceCents: try row.decode(column: "balance_cents", as: Int64.self))
            }
        }
    }

    public func transfer(
        _ t: TransferRecord, audit: AuditEntry, idempotency: IdempotencyClaim?, replayGuard: ReplayGuard?
    ) async throws -> TransferOutcome {
        let key = auditKey
        return try await guardedTransaction(replayGuard) { db in
            if let idempotency {
                let claimed =
                    try await db.raw(
                        """
                        INSERT INTO idempotency_keys (device_id, idempotency_key, request_sha256, transfer_id, created_at)
                        VALUES (\(bind: t.deviceID), \(bind: idempotency.key), \(bind: idempotency.requestSHA256),
                          \(bind: t.id), \(bind: Self.millis(t.createdAt)))
                        ON CONFLICT (device_id, idempotency_key) DO NOTHING RETURNING transfer_id
                        """
                    ).first() != nil
                if !claimed { return try await Self.replay(db, deviceID: t.deviceID, idempotency) }
            }
            guard
                let debited = try await db.raw(
                    """
                    UPDATE accounts SET balance_cents = balance_cents - \(bind: t.amountCents)
                    WHERE id = \(bind: t.fromAccount) AND user_id = \(bind: t.userID) AND currency = \(bind: t.currency)
                      AND balance_cents >= \(bind: t.amountCents)
                    RETURNING balance_cents
                    """
                ).first()
            else {
                guard
                    let source = try await db.raw(
                        "SELECT currency FROM accounts WHERE id = \(bind: t.fromAccount) AND user_id = \(bind: t.userID)"
                    ).first()
                else { throw StoreError(.accountNotOwned, "the source account is not one of your accounts") }
                if try source.decode(column: "currency", as: String.self) != t.currency {
                    throw StoreError(.currencyMismatch, "the currency does not match the source account's")
                }
                throw StoreError(.insufficientFunds, "the source account's balance is too low for this amount")
            }
            if t.creditsInternalAccount {
                let credited =
                    try await db.raw(
                        """
                        UPDATE accounts SET balance_cents = balance_cents + \(bind: t.amountCents)
                        WHERE id = \(bind: t.toAccount) AND currency = \(bind: t.currency) AND id <> \(bind: t.fromAccount)
                        RETURNING id
                        """
                    ).all().count
                guard credited == 1 else {
                    // Nothing is kept: the debit above rolls back with the transaction.
                    guard
                        let destination = try await db.raw(
                            "SELECT currency FROM accounts WHERE id = \(bind: t.toAccount)"
                        ).first()
                    else { throw StoreError(.accountNotFound, "the destination account does not exist") }
                    if try destination.decode(column: "currency", as: String.self) != t.currency {
                        throw StoreError(.currencyMismatch, "the destination account holds another currency")
                    }
                    throw StoreError(.accountNotFound, "the destination account cannot receive this transfer")
                }
            }
            try await db.raw(
                """
                INSERT INTO transfers (id, user_id, device_id, from_account, to_account, amount_cents, currency, created_at)
                VALUES (\(bind: t.id), \(bind: t.userID), \(bind: t.deviceID), \(bind: t.fromAccount), \(bind: t.toAccount),
                  \(bind: t.amountCents), \(bind: t.currency), \(bind: Self.millis(t.createdAt)))
                """
            ).run()
            try await Self.appendAudit(db, audit, key: key)
            let balance = try debited.decode(column: "balance_cents", as: Int64.self)
            if let idempotency {
                try await db.raw(
                    """
                    UPDATE idempotency_keys SET balance_cents = \(bind: balance)
                    WHERE device_id = \(bind: t.deviceID) AND idempotency_key = \(bind: idempotency.key)
                    """
                ).run()
            }
            return TransferOutcome(transfer: t, balanceCents: balance, replayed: false)
        }
    }

    /// The first result of an idempotency key: the stored transfer and the balance it left.
    private static func replay(_ db: any SQLDatabase, deviceID: String, _ claim: IdempotencyClaim) async throws
        -> TransferOutcome
    {
        guard
            let row = try await db.raw(
                """
                SELECT k.request_sha256, k.balance_cents AS balance_after, t.id, t.user_id, t.device_id,
                  t.from_account, t.to_account, t.amount_cents, t.currency, t.created_at
                FROM idempotency_keys k JOIN transfers t ON t.id = k.transfer_id
                WHERE k.device_id = \(bind: deviceID) AND k.idempotency_key = \(bind: claim.key)
                """
            ).first()
        else { throw StoreError(.conflict, "a transfer with this idempotency key is in progress") }
        guard try row.decode(column: "request_sha256", as: String.self) == claim.requestSHA256 else {
            throw StoreError(.idempotencyKeyReused, "this Idempotency-Key was used for another request")
        }
        return TransferOutcome(
            transfer: try transferRecord(row),
            balanceCents: try row.decode(column: "balance_after", as: Int64?.self) ?? 0, replayed: true)
    }

    private static func transferRecord(_ row: any SQLRow) throws -> TransferRecord {
        TransferRecord(
            id: try row.decode(column: "id", as: String.self),
            userID: try row.decode(column: "user_id", as: String.self),
            deviceID: try row.decode(column: "device_id", as: String.self),
            fromAccount: try row.decode(column: "from_account", as: String.self),
            toAccount: try row.decode(column: "to_account", as: String.self),
            amountCents: try row.decode(column: "amount_cents", as: Int64.self),
            currency: try row.decode(column: "currency", as: String.self),
            createdAt: date(try row.decode(column: "created_at", as: Int64.self)))
    }

    public func moneyLedger() async throws -> MoneyLedger {
        try await readTransaction { db in
            let accounts = try await db.raw(
                "SELECT id, user_id, name, currency, balance_cents FROM accounts ORDER BY id"
            ).all().map { row in
                AccountRecord(
                    id: try row.decode(column: "id", as: String.self),
                    userID: try row.decode(column: "user_id", as: String.self),
                    name: try row.decode(column: "name", as: String.self),
                    currency: try row.decode(column: "currency", as: String.self),
                    balanceCents: try row.decode(column: "balance_cents", as: Int64.self))
            }
            let transfers = try await db.raw(
                """
                SELECT id, user_id, device_id, from_account, to_account, amount_cents, currency, created_at
                FROM transfers ORDER BY created_at, id
                """
            ).all().map(Self.transferRecord)
            return MoneyLedger(accounts: accounts, transfers: transfers)
        }
    }

    // MARK: Audit

    /// Appends within the caller's transaction: the head row update serializes concurrent writers.
    @discardableResult
    private static func appendAudit(_ db: any SQLDatabase, _ entry: AuditEntry, key: SymmetricKey) async throws
        -> AuditRecord
    {
        guard
            let head = try await db.raw(
                "UPDATE audit_head SET sequence = sequence + 1 WHERE id = 1 RETURNING sequence, hash"
            ).first()
        else { throw StoreError(.databaseUnavailable, "the audit head row is missing") }
        let sequence = try head.decode(column: "sequence", as: Int64.self)
        let previous = try head.decode(column: "hash", as: String.self)
        let hash = AuditChain.hash(sequence: sequence, entry: entry, previousHash: previous, key: key)
        try await db.raw(
            """
            INSERT INTO audit_events (sequence, event_time, actor, action, subject, details, previous_hash, hash)
            VALUES (\(bind: sequence), \(bind: millis(entry.time)), \(bind: entry.actor), \(bind: entry.action),
              \(bind: entry.subject), \(bind: entry.detailsJSON), \(bind: previous), \(bind: hash))
            """
        ).run()
        try await db.raw("UPDATE audit_head SET hash = \(bind: hash) WHERE id = 1").run()
        return AuditRecord(sequence: sequence, entry: entry, previousHash: previous, hash: hash)
    }

    /// In the migration that keys the chain: when events exist, the first keyed event records where the plain
    /// SHA-256 events end, so that boundary cannot be moved later without the key.
    private static func anchorLegacyEvents(_ db: any SQLDatabase, key: SymmetricKey) async throws {
        guard let head = try await db.raw("SELECT sequence FROM audit_head WHERE id = 1").first() else { return }
        let legacy = try head.decode(column: "sequence", as: Int64.self)
        guard legacy > 0 else { return }
        try await appendAudit(
            db,
            AuditEntry(
                time: Date(), actor: "latchkey", action: AuditChain.anchorAction, subject: "audit",
                detailsJSON: AuditChain.anchorDetails(legacyUntil: legacy)),
            key: key)
    }

    @discardableResult
    public func appendAudit(_ entry: AuditEntry) async throws -> AuditRecord {
        let key = auditKey
        return try await transaction { db in try await Self.appendAudit(db, entry, key: key) }
    }

    public func auditHead() async throws -> AuditChain.Checkpoint {
        try await read { db in
            guard let head = try await db.raw("SELECT sequence, hash FROM audit_head WHERE id = 1").first() else {
                throw StoreError(.databaseUnavailable, "the audit head row is missing")
            }
            return AuditChain.Checkpoint(
                sequence: try head.decode(column: "sequence", as: Int64.self),
                hash: try head.decode(column: "hash", as: String.self))
        }
    }

    public func auditTrail() async throws -> AuditTrail {
        try await readTransaction { db in
            let rows = try await db.raw(
                "SELECT sequence, event_time, actor, action, subject, details, previous_hash, hash FROM audit_events ORDER BY sequence"
            ).all()
            let events = try rows.map { row in
                AuditRecord(
                    sequence: try row.decode(column: "sequence", as: Int64.self),
                    entry: AuditEntry(
                        time: Self.date(try row.decode(column: "event_time", as: Int64.self)),
                        actor: try row.decode(column: "actor", as: String.self),
                        action: try row.decode(column: "action", as: String.self),
                        subject: try row.decode(column: "subject", as: String.self),
                        detailsJSON: try row.decode(column: "details", as: String.self)),
                    previousHash: try row.decode(column: "previous_hash", as: String.self),
                    hash: try row.decode(column: "hash", as: String.self))
            }
            guard
                let head = try await db.raw("SELECT sequence, hash, legacy_until FROM audit_head WHERE id = 1").first()
            else {
                throw StoreError(.databaseUnavailable, "the audit head row is missing")
            }
            return AuditTrail(
                events: events, headSequence: try head.decode(column: "sequence", as: Int64.self),
                headHash: try head.decode(column: "hash", as: String.self),
                legacyUntil: try head.decode(column: "legacy_until", as: Int64.self))
        }
    }
}

extension SQLStore {
    /// Adds `count` synthetic active devices, each with one certificate, for benchmarks; ids and serials start with
    /// `prefix`. One statement per table (a recursive sequence), so a million rows take seconds, not hours.
    package func seedSyntheticDevices(count: Int, userID: String, prefix: String) async throws {
        let now = Self.millis(Date())
        let later = Self.millis(Date().addingTimeInterval(7 * 86_400))
        try await transaction { db in
            try await db.raw(
                """
                WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < \(bind: Int64(count)))
                INSERT INTO devices (id, user_id, name, status, enrolled_at)
                SELECT \(bind: prefix + "d-") || CAST(n AS TEXT), \(bind: userID), 'synthetic', 'active', \(bind: now) FROM seq
                """
            ).run()
            try await db.raw(
                """
                WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < \(bind: Int64(count)))
                INSERT INTO certificates (serial, device_id, not_before, not_after, spki_sha256, der)
                SELECT \(bind: prefix + "s-") || CAST(n AS TEXT), \(bind: prefix + "d-") || CAST(n AS TEXT), \(bind: now),
                  \(bind: later), '00', 'AA==' FROM seq
                """
            ).run()
        }
    }
}

/// The schema, as numbered migrations applied in order at start and recorded in `latchkey_migrations`.
///
/// One set of statements serves SQLite and PostgreSQL: only TEXT and BIGINT columns; times are milliseconds since
/// 1970; binary values are base64 text.
enum Migrations {
    static let all: [(version: Int64, statements: [String])] = [
        (
            1,
            [
                """
                CREATE TABLE users (id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL,
                  phone TEXT NOT NULL, email TEXT, status TEXT NOT NULL, failed_code_attempts BIGINT NOT NULL DEFAULT 0,
                  created_at BIGINT NOT NULL)
                """,
                """
                CREATE TABLE devices (id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), name TEXT NOT NULL,
                  status TEXT NOT NULL, enrolled_at BIGINT NOT NULL, last_seen_at BIGINT, revoked_at BIGINT,
                  revocation_reason TEXT, renewed_at BIGINT)
                """,
                "CREATE INDEX devices_user ON devices (user_id)",
                """
                CREATE TABLE certificates (serial TEXT PRIMARY KEY, device_id TEXT NOT NULL REFERENCES devices(id),
                  not_before BIGINT NOT NULL, not_after BIGINT NOT NULL, spki_sha256 TEXT NOT NULL, der TEXT NOT NULL,
                  revoked_at BIGINT)
                """,
                "CREATE INDEX certificates_device ON certificates (device_id)",
                """
                CREATE TABLE enrollments (id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id),
                  device_name TEXT NOT NULL, channel TEXT NOT NULL, destination TEXT NOT NULL, code_hash TEXT NOT NULL,
                  attempts BIGINT NOT NULL DEFAULT 0, expires_at BIGINT NOT NULL, status TEXT NOT NULL,
                  client_address TEXT, created_at BIGINT NOT NULL, device_id TEXT)
                """,
                "CREATE INDEX enrollments_user_created ON enrollments (user_id, created_at)",
                "CREATE INDEX enrollments_address_created ON enrollments (client_address, created_at)",
                """
                CREATE TABLE nonces (value TEXT PRIMARY KEY, device_id TEXT NOT NULL, expires_at BIGINT NOT NULL,
                  consumed_at BIGINT)
                """,
                """
                CREATE TABLE audit_events (sequence BIGINT PRIMARY KEY, event_time BIGINT NOT NULL, actor TEXT NOT NULL,
                  action TEXT NOT NULL, subject TEXT NOT NULL, details TEXT NOT NULL, previous_hash TEXT NOT NULL,
                  hash TEXT NOT NULL)
                """,
                "CREATE TABLE audit_head (id BIGINT PRIMARY KEY, sequence BIGINT NOT NULL, hash TEXT NOT NULL)",
                "INSERT INTO audit_head (id, sequence, hash) VALUES (1, 0, '\(AuditChain.genesisHash)')",
            ]
        ),
        (
            2,
            [
                """
                CREATE TABLE accounts (id TEXT PRIMARY KEY, user_id TEXT NOT NULL REFERENCES users(id), name TEXT NOT NULL,
                  currency TEXT NOT NULL, balance_cents BIGINT NOT NULL, created_at BIGINT NOT NULL)
                """,
                "CREATE INDEX accounts_user ON accounts (user_id)",
                """
                CREATE TABLE transfers (id TEXT PRIMARY KEY, user_id TEXT NOT NULL, device_id TEXT NOT NULL,
                  from_account TEXT NOT NULL, to_account TEXT NOT NULL, amount_cents BIGINT NOT NULL,
                  currency TEXT NOT NULL, created_at BIGINT NOT NULL)
                """,
            ]
        ),
        (
            3,
            [
                "CREATE TABLE enrollment_attempts (client_address TEXT NOT NULL, created_at BIGINT NOT NULL)",
                "CREATE INDEX enrollment_attempts_address ON enrollment_attempts (client_address, created_at)",
                "CREATE INDEX enrollment_attempts_created ON enrollment_attempts (created_at)",
            ]
        ),
        (
            4,
            [
                // Events so far keep their plain SHA-256 hashes; every later one is keyed (HMAC).
                "ALTER TABLE audit_head ADD COLUMN legacy_until BIGINT NOT NULL DEFAULT 0",
                "UPDATE audit_head SET legacy_until = sequence",
                // One key, one active device: the primary key settles concurrent enrollments.
                "CREATE TABLE device_keys (spki_sha256 TEXT PRIMARY KEY, device_id TEXT NOT NULL)",
                "CREATE INDEX device_keys_device ON device_keys (device_id)",
                """
                INSERT INTO device_keys (spki_sha256, device_id)
                SELECT c.spki_sha256, MIN(c.device_id) FROM certificates c JOIN devices d ON d.id = c.device_id
                WHERE d.status = 'active' AND c.revoked_at IS NULL GROUP BY c.spki_sha256
                """,
                """
                CREATE TABLE idempotency_keys (device_id TEXT NOT NULL, idempotency_key TEXT NOT NULL,
                  request_sha256 TEXT NOT NULL, transfer_id TEXT NOT NULL, balance_cents BIGINT,
                  created_at BIGINT NOT NULL, PRIMARY KEY (device_id, idempotency_key))
                """,
                """
                CREATE TABLE login_failures (name_key TEXT PRIMARY KEY, failures BIGINT NOT NULL,
                  last_failure_at BIGINT NOT NULL, pending BIGINT NOT NULL DEFAULT 0,
                  pending_at BIGINT NOT NULL DEFAULT 0)
                """,
                "CREATE INDEX nonces_device ON nonces (device_id, expires_at)",
                "CREATE INDEX nonces_expires ON nonces (expires_at)",
            ]
        ),
        (
            5,
            [
                // Attested enrollment (SPEC §6).
                "ALTER TABLE enrollments ADD COLUMN attestation_challenge TEXT",
                "ALTER TABLE devices ADD COLUMN assurance TEXT NOT NULL DEFAULT 'oob'",
                "ALTER TABLE devices ADD COLUMN attest_key_id TEXT",
                "ALTER TABLE devices ADD COLUMN attest_public_key TEXT",
                "ALTER TABLE devices ADD COLUMN assertion_counter BIGINT NOT NULL DEFAULT 0",
                // An App Attest key id is enrolled at most once, also after its device is revoked.
                "CREATE TABLE attested_keys (key_id TEXT PRIMARY KEY, device_id TEXT NOT NULL)",
            ]
        ),
        (
            6,
            [
                // Moves with every revocation (of a device or of certificates by a renewal), in the same transaction:
                // servers poll it to learn that identities they hold in memory must be checked again.
                "CREATE TABLE revocation_head (id BIGINT PRIMARY KEY, version BIGINT NOT NULL)",
                "INSERT INTO revocation_head (id, version) VALUES (1, 0)",
            ]
        ),
        (
            7,
            [
                // Nonces are made and checked by the server (a MAC); only consumed ones are kept, until they expire.
                // The old `nonces` table is left in place: an instance not yet upgraded keeps working meanwhile.
                """
                CREATE TABLE consumed_nonces (value TEXT PRIMARY KEY, device_id TEXT NOT NULL,
                  expires_at BIGINT NOT NULL)
                """,
                "CREATE INDEX consumed_nonces_expires ON consumed_nonces (expires_at)",
            ]
        ),
        (
            8,
            [
                // The CRL (`GET /v1/crl`, no login) lists revoked certificates that have not expired: without this
                // index every request scanned every certificate ever issued, and renewals revoke the certificates
                // they replace, so nearly all of them end up revoked: the index is ordered by expiry and covers the
                // query. IF NOT EXISTS: on a large PostgreSQL table it may be built beforehand, CONCURRENTLY.
                """
                CREATE INDEX IF NOT EXISTS certificates_revoked_unexpired ON certificates (not_after, revoked_at, serial)
                  WHERE revoked_at IS NOT NULL
                """,
            ]
        ),
    ]

    static var latestVersion: Int64 { all.last?.version ?? 0 }
}

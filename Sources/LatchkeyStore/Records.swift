import Foundation

/// Whether a user may enroll and use devices.
public enum UserStatus: String, Sendable, Equatable, Codable {
    case active, disabled
}

/// Whether a device may call the API; a revoked device never becomes active again.
public enum DeviceStatus: String, Sendable, Equatable, Codable {
    case active, revoked
}

/// A user account. `passwordHash` is a bcrypt or KDF string made by the server, never a password.
public struct UserRecord: Sendable, Equatable {
    public let id: String
    public let username: String
    public let passwordHash: String
    public let phone: String
    public let email: String?
    public let status: UserStatus
    /// Wrong one-time codes over all of this user's enrollments since the last operator reset.
    public let failedCodeAttempts: Int
    public let createdAt: Date

    public init(
        id: String, username: String, passwordHash: String, phone: String, email: String?, status: UserStatus = .active,
        failedCodeAttempts: Int = 0, createdAt: Date
    ) {
        self.id = id
        self.username = username
        self.passwordHash = passwordHash
        self.phone = phone
        self.email = email
        self.status = status
        self.failedCodeAttempts = failedCodeAttempts
        self.createdAt = createdAt
    }
}

/// An enrolled device: active until revoked.
public struct DeviceRecord: Sendable, Equatable {
    public let id: String
    public let userID: String
    public let name: String
    public let status: DeviceStatus
    public let enrolledAt: Date
    public let lastSeenAt: Date?
    public let revokedAt: Date?
    public let revocationReason: String?
    /// `oob`, `apple-app-attest`, `android-tee` or `android-strongbox` (SPEC §6).
    public let assurance: String
    /// An App Attest device's key id (base64): enrolled at most once, ever.
    public let attestKeyID: String?
    /// An App Attest device's attested key (base64 of the uncompressed P-256 point): its assertions verify with it.
    public let attestPublicKey: String?
    /// The greatest App Attest assertion counter accepted so far.
    public let assertionCounter: Int64

    public init(
        id: String, userID: String, name: String, status: DeviceStatus = .active, enrolledAt: Date,
        lastSeenAt: Date? = nil,
        revokedAt: Date? = nil, revocationReason: String? = nil, assurance: String = "oob",
        attestKeyID: String? = nil, attestPublicKey: String? = nil, assertionCounter: Int64 = 0
    ) {
        self.assurance = assurance
        self.attestKeyID = attestKeyID
        self.attestPublicKey = attestPublicKey
        self.assertionCounter = assertionCounter
        self.id = id
        self.userID = userID
        self.name = name
        self.status = status
        self.enrolledAt = enrolledAt
        self.lastSeenAt = lastSeenAt
        self.revokedAt = revokedAt
        self.revocationReason = revocationReason
    }
}

/// An issued certificate as stored: serial (lowercase hex), validity, SPKI hash and DER (base64).
public struct CertificateRecord: Sendable, Equatable {
    public let serial: String
    public let deviceID: String
    public let notBefore: Date
    public let notAfter: Date
    public let spkiSHA256: String
    public let derBase64: String
    public let revokedAt: Date?

    public init(
        serial: String, deviceID: String, notBefore: Date, notAfter: Date, spkiSHA256: String, derBase64: String,
        revokedAt: Date? = nil
    ) {
        self.serial = serial
        self.deviceID = deviceID
        self.notBefore = notBefore
        self.notAfter = notAfter
        self.spkiSHA256 = spkiSHA256
        self.derBase64 = derBase64
        self.revokedAt = revokedAt
    }
}

/// What the hot path needs about a presented certificate: its own state and its device's, in one lookup.
public struct CertificateStatus: Sendable, Equatable {
    public let serial: String
    public let deviceID: String
    public let userID: String
    public let notAfter: Date
    public let certificateRevokedAt: Date?
    public let deviceStatus: DeviceStatus
    /// The owner's username and status, read in the same query so a request needs no second one.
    public let username: String
    public let userStatus: UserStatus
    /// The device's assurance and, for App Attest devices, the attested key its assertions verify with.
    public let assurance: String
    public let attestPublicKey: String?

    public init(
        serial: String, deviceID: String, userID: String, notAfter: Date, certificateRevokedAt: Date?,
        deviceStatus: DeviceStatus, username: String, userStatus: UserStatus, assurance: String = "oob",
        attestPublicKey: String? = nil
    ) {
        self.serial = serial
        self.deviceID = deviceID
        self.userID = userID
        self.notAfter = notAfter
        self.certificateRevokedAt = certificateRevokedAt
        self.deviceStatus = deviceStatus
        self.username = username
        self.userStatus = userStatus
        self.assurance = assurance
        self.attestPublicKey = attestPublicKey
    }
}

/// An enrollment: started with a password, completed with the out-of-band code and a CSR.
public struct EnrollmentRecord: Sendable, Equatable {
    public enum Status: String, Sendable {
        case pending, completed, locked, expired
    }

    public let id: String
    public let userID: String
    public let deviceName: String
    public let channel: String
    public let destination: String
    /// A keyed hash of the code, made by the server; the code itself is never stored.
    public let codeHash: String
    public let attempts: Int
    public let expiresAt: Date
    public let status: Status
    public let clientAddress: String?
    public let createdAt: Date
    /// The attestation challenge of this enrollment (base64 of 32 random bytes), nil for enrollments started before
    /// attestation existed.
    public let attestationChallenge: String?

    public init(
        id: String, userID: String, deviceName: String, channel: String, destination: String, codeHash: String,
        attempts: Int = 0, expiresAt: Date, status: Status = .pending, clientAddress: String?, createdAt: Date,
        attestationChallenge: String? = nil
    ) {
        self.attestationChallenge = attestationChallenge
        self.id = id
        self.userID = userID
        self.deviceName = deviceName
        self.channel = channel
        self.destination = destination
        self.codeHash = codeHash
        self.attempts = attempts
        self.expiresAt = expiresAt
        self.status = status
        self.clientAddress = clientAddress
        self.createdAt = createdAt
    }
}

/// The result of recording a wrong code: the attempts now counted and whether the enrollment is now locked.
public struct WrongCodeOutcome: Sendable, Equatable {
    public let attempts: Int
    public let locked: Bool
    /// The user's wrong codes over all enrollments after this one.
    public let userFailedAttempts: Int
}

/// The result of consuming a nonce.
public enum NonceOutcome: String, Sendable, Equatable {
    /// This call consumed it: the only call that ever will.
    case consumed
    /// Consumed before.
    case reused
}

/// What makes a verified signed request single-use: its nonce, and for an App Attest device its assertion counter.
/// Spent in the same transaction as the request's effect, so a signed request costs one write (issue 17).
public struct ReplayGuard: Sendable, Equatable {
    public let nonce: String
    public let deviceID: String
    /// The nonce's own expiry (its record is kept for a grace period after it).
    public let nonceExpiresAt: Date
    public let now: Date
    /// The App Attest assertion's counter, which must exceed the device's stored one; nil for other devices.
    public let assertionCounter: Int64?

    public init(nonce: String, deviceID: String, nonceExpiresAt: Date, now: Date, assertionCounter: Int64? = nil) {
        self.nonce = nonce
        self.deviceID = deviceID
        self.nonceExpiresAt = nonceExpiresAt
        self.now = now
        self.assertionCounter = assertionCounter
    }
}

/// An audit event to append; the store assigns its sequence and hashes.
public struct AuditEntry: Sendable, Equatable {
    public let time: Date
    public let actor: String
    public let action: String
    public let subject: String
    /// A JSON object as text.
    public let detailsJSON: String

    public init(time: Date, actor: String, action: String, subject: String, detailsJSON: String = "{}") {
        self.time = time
        self.actor = actor
        self.action = action
        self.subject = subject
        self.detailsJSON = detailsJSON
    }
}

/// An audit event as stored, with its place in the hash chain.
public struct AuditRecord: Sendable, Equatable {
    public let sequence: Int64
    public let entry: AuditEntry
    public let previousHash: String
    public let hash: String
}

/// A demo bank account (SPEC §4): balances in integer cents.
public struct AccountRecord: Sendable, Equatable {
    public let id: String
    public let userID: String
    public let name: String
    public let currency: String
    public let balanceCents: Int64

    public init(id: String, userID: String, name: String, currency: String, balanceCents: Int64) {
        self.id = id
        self.userID = userID
        self.name = name
        self.currency = currency
        self.balanceCents = balanceCents
    }
}

/// A transfer to record: from one of the user's accounts to any account id or IBAN.
public struct TransferRecord: Sendable, Equatable {
    public let id: String
    public let userID: String
    public let deviceID: String
    public let fromAccount: String
    public let toAccount: String
    public let amountCents: Int64
    public let currency: String
    public let createdAt: Date

    public init(
        id: String, userID: String, deviceID: String, fromAccount: String, toAccount: String, amountCents: Int64,
        currency: String, createdAt: Date
    ) {
        self.id = id
        self.userID = userID
        self.deviceID = deviceID
        self.fromAccount = fromAccount
        self.toAccount = toAccount
        self.amountCents = amountCents
        self.currency = currency
        self.createdAt = createdAt
    }
}

/// Enrollments started in a time window, and when the oldest of them started (for `Retry-After`).
public struct EnrollmentWindow: Sendable, Equatable {
    public let count: Int
    public let oldest: Date?

    public init(count: Int, oldest: Date?) {
        self.count = count
        self.oldest = oldest
    }
}

extension TransferRecord {
    /// Whether the destination is an account of this bank (`acc-...`), which must be credited; an IBAN is an
    /// account elsewhere, and the money leaves the bank.
    public var creditsInternalAccount: Bool { toAccount.hasPrefix("acc-") }
}

/// The `Idempotency-Key` of a transfer: a repeat with the same key from the same device gets the first result.
public struct IdempotencyClaim: Sendable, Equatable {
    public let key: String
    /// SHA-256 (hex) of the request body: a repeat with another body is refused.
    public let requestSHA256: String

    public init(key: String, requestSHA256: String) {
        self.key = key
        self.requestSHA256 = requestSHA256
    }
}

/// What a transfer call did: made the transfer, or found the one an earlier call with the same idempotency key made.
public struct TransferOutcome: Sendable, Equatable {
    public let transfer: TransferRecord
    /// The source account's balance right after the transfer.
    public let balanceCents: Int64
    /// True when this is the answer to a repeat, and nothing moved.
    public let replayed: Bool

    public init(transfer: TransferRecord, balanceCents: Int64, replayed: Bool) {
        self.transfer = transfer
        self.balanceCents = balanceCents
        self.replayed = replayed
    }
}

/// Failed passwords counted for one account name (known or not), keyed by a MAC of the name.
public struct LoginFailures: Sendable, Equatable {
    /// Failed passwords recorded since the last reset.
    public let count: Int
    /// When the last failure was recorded; nil when none was yet.
    public let lastFailure: Date?
    /// Attempts reserved and still being checked (other than the caller's), seen within the last minute.
    public let pending: Int

    public init(count: Int, lastFailure: Date?, pending: Int = 0) {
        self.count = count
        self.lastFailure = lastFailure
        self.pending = pending
    }
}

/// Every account and every transfer, for checking balances against the audit trail.
public struct MoneyLedger: Sendable {
    public let accounts: [AccountRecord]
    public let transfers: [TransferRecord]
}

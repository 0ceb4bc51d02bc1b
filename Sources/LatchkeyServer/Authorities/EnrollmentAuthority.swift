import Crypto
import Foundation
import LatchkeyPKI
import LatchkeyProtocol
import LatchkeyStore
import Logging
import NIOPosix
import SwiftASN1
import X509

/// Enrollment with out-of-band verification: a password starts it, a code sent over a second channel and a CSR
/// complete it.
///
/// Guarantees: an unknown user and a wrong password get the same answer after the same bcrypt work; codes are
/// single use, valid `codeLifetime`, stored only as keyed hashes; an enrollment locks after `maximumCodeAttempts`
/// wrong codes and an account refuses enrollment after `maximumAccountCodeFailures`; the code is checked before the
/// CSR, and a refused CSR leaves the enrollment pending; a certificate is returned only after it and its device
/// are stored.
public struct EnrollmentAuthority: Sendable {
    let store: any LatchkeyStore
    let authority: CertificateAuthority
    let issuer: DeviceIssuer
    let codes: OneTimeCode
    let passwords: PasswordHasher
    let sink: any OutOfBandSink
    let throttle: LoginThrottle
    let metrics: ServerMetrics
    let settings: ServerSettings
    let apiURL: String
    let attestation: AttestationAuthority
    let logger: Logger

    public init(
        store: any LatchkeyStore, authority: CertificateAuthority, settings: ServerSettings, sink: any OutOfBandSink,
        apiURL: String, attestation: AttestationAuthority = .unconfigured, metrics: ServerMetrics = ServerMetrics(),
        logger: Logger
    ) throws {
        self.attestation = attestation
        self.metrics = metrics
        self.store = store
        self.authority = authority
        self.issuer = try DeviceIssuer(store: store, authority: authority, lifetime: settings.certificateLifetime)
        self.codes = try OneTimeCode(authority: authority)
        self.passwords = PasswordHasher(cost: settings.bcryptCost)
        self.throttle = LoginThrottle(
            store: store, key: try ServerKeys.loginNames(authority), backoffAfter: settings.passwordBackoffAfter,
            lockAfter: settings.passwordLockAfter)
        self.sink = sink
        self.settings = settings
        self.apiURL = apiURL
        self.logger = logger
    }

    static let invalidCredentials = Refusal(.invalidCredentials, "the username or password is wrong")

    /// `POST /v1/enrollments`.
    public func start(_ request: EnrollmentStartRequest, clientAddress: String, now: Date = Date()) async throws
        -> EnrollmentStartResponse
    {
        guard !request.username.isEmpty, request.username.utf8.count <= 256, request.password.utf8.count <= 1024 else {
            throw Self.invalidCredentials
        }
        let deviceName = try DeviceName.validated(request.deviceName)

        let hourAgo = now.addingTimeInterval(-3600)
        // Every attempt counts, before any password work: a flood of wrong passwords from one network is refused
        // without costing a bcrypt each.
        let byAddress = try await store.recordEnrollmentAttempt(
            clientAddress: AddressPrefix.limitKey(for: clientAddress), at: now, since: hourAgo)
        if byAddress.count > settings.enrollLimitPerAddress {
            throw Self.rateLimited(byAddress, now: now, what: "from this network")
        }
        // Failed passwords per account name, from any address: waiting, then locked. Checked before the password,
        // so a guess made while waiting is never tried.
        switch try await throttle.reserve(username: request.username, now: now) {
        case .allowed: break
        case .wait(let seconds):
            throw Refusal(.rateLimited,
                "too many wrong passwords for this account; retry after \(seconds) seconds",
                retryAfter: seconds)
        case .locked: throw Self.accountLocked
        }

        let user = try await store.user(username: request.username)
        let hasher = passwords
        let password = request.password
        let storedHash = user?.passwordHash
        let verified = try await NIOThreadPool.singleton.runIfActive {
            hasher.verify(password, storedHash: storedHash)
        }
        guard verified, let user, user.status == .active else {
            let failures = try await throttle.recordFailure(username: request.username, now: now)
            if let user, failures == settings.passwordBackoffAfter || failures == settings.passwordLockAfter {
                await notify(
                    user, now: now,
                    "Several wrong passwords were just tried for your account. If this was not you, contact your bank.")
            }
            throw Self.invalidCredentials
        }
        try await throttle.clear(username: request.username)
        if hasher.needsRehash(user.passwordHash) {
            let rehashed = try await NIOThreadPool.singleton.runIfActive { hasher.hash(password) }
            try await store.updatePasswordHash(userID: user.id, hash: rehashed)
        }

        guard user.failedCodeAttempts < settings.maximumAccountCodeFailures else { throw Self.accountLocked }
        let byAccount = try await store.enrollmentWindow(userID: user.id, since: hourAgo)
        if byAccount.count >= settings.enrollLimitPerAccount {
            throw Self.rateLimited(byAccount, now: now, what: "for this account")
        }

        let enrollmentID = "enr-" + Self.randomToken(bytes: 16)
        let code = codes.generate()
        let challenge = Data(Self.randomBytes(32)).base64EncodedString()
        let expiresAt = now.addingTimeInterval(min(settings.codeLifetime, 600))
        // Stored with its audit event first, in one transaction: if the database cannot take it, no code goes out.
        try await store.createEnrollment(
            EnrollmentRecord(
                id: enrollmentID, userID: user.id, deviceName: deviceName, channel: sink.channel,
                destination: user.phone,
                codeHash: codes.hash(code: code, enrollmentID: enrollmentID), expiresAt: expiresAt,
                clientAddress: clientAddress, createdAt: now, attestationChallenge: challenge),
            audit: AuditEntry(
                time: now, actor: "user:\(user.id)", action: "enrollment.started", subject: enrollmentID,
                detailsJSON: AuditDetails(deviceName: deviceName, clientAddress: clientAddress).json))
        // The message carries no text the requester chose (the device name): only the code and fixed words.
        do {
            try await sink.deliver(
                OutOfBandMessage(
                    kind: .enrollmentCode, to: user.phone, code: code,
                    body:
                        "Your Latchkey code is \(code). It adds a new device to your account. Never give it to anyone, even someone who says they are your bank.",
                    time: now))
        } catch {
            logger.error("out-of-band delivery failed", metadata: ["channel": "\(sink.channel)", "reason": "\(error)"])
            // Nobody received the code; the enrollment can never complete either way, this makes it say so.
            try? await store.abandonEnrollment(id: enrollmentID)
            throw Refusal(.oobDeliveryFailed,
                "the one-time code could not be sent over the \(sink.channel) channel; try again later")
        }
        metrics.enrollmentStarted()
        return EnrollmentStartResponse(
            enrollmentID: enrollmentID, channel: sink.channel, destinationHint: Self.mask(user.phone),
            expiresAt: Timestamp.string(expiresAt), attestationChallenge: challenge)
    }

    static let accountLocked = Refusal(.accountLocked,
        "enrollment is refused for this account after too many failed attempts; an operator must reset it")

    /// A notice to the user over the second channel; a failure is logged, never shown to the requester.
    func notify(_ user: UserRecord, now: Date, _ body: String) async {
        do {
            try await sink.deliver(OutOfBandMessage(kind: .securityNotice, to: user.phone, code: nil, body: body, time: now))
        } catch {
            logger.error("security notice could not be delivered", metadata: ["user": "\(user.id)"])
        }
    }

    /// `POST /v1/enrollments/{id}/complete`.
    public func complete(enrollmentID: String, _ request: EnrollmentCompleteRequest, now: Date = Date()) async throws
        -> CertificateResponse
    {
        guard enrollmentID.utf8.count <= 64, let enrollment = try await store.enrollment(id: enrollmentID) else {
            throw Refusal.notFound("no such enrollment")
        }
        switch enrollment.status {
        case .completed: throw Self.enrollmentUsed
        case .locked: throw Self.enrollmentLocked
        case .expired: throw Self.enrollmentExpired
        case .pending:
            if enrollment.expiresAt <= now { throw Self.enrollmentExpired }
        }
        guard let user = try await store.user(id: enrollment.userID) else {
            throw Refusal.notFound("no such enrollment")
        }
        guard user.failedCodeAttempts < settings.maximumAccountCodeFailures else { throw Self.accountLocked }

        let wellFormed =
            request.code.count >= 6 && request.code.count <= 12 && request.code.allSatisfy { $0.isASCII && $0.isNumber }
        guard wellFormed,
            codes.matches(code: request.code, enrollmentID: enrollment.id, storedHash: enrollment.codeHash)
        else {
            let outcome = try await store.recordWrongCode(
                enrollmentID: enrollment.id, limit: settings.maximumCodeAttempts)
            logger.notice(
                "wrong enrollment code",
                metadata: ["enrollment": "\(enrollment.id)", "attempts": "\(outcome.attempts)"])
            if outcome.locked { throw Self.enrollmentLocked }
            let left = settings.maximumCodeAttempts - outcome.attempts
            throw Refusal(.codeInvalid, "the code is wrong; \(left) attempt\(left == 1 ? "" : "s") left")
        }

        // The CSR, then its attestation: either refused leaves the enrollment pending.
        let accepted = try CSRIntake.accept(Array(request.csr.utf8))
        let attested = try await attestation.attest(
            request.attestation, challenge: enrollment.attestationChallenge, csr: accepted, now: now)
        let (deviceID, issued) = try await issuer.completeEnrollment(
            enrollment, csr: accepted, attestation: attested, now: now)
        metrics.enrollmentCompleted(assurance: attested.assurance.rawValue)
        do {
            try await sink.deliver(
                OutOfBandMessage(
                    kind: .deviceAdded, to: user.phone, code: nil,
                    body: "A new device was added to your account. If this was not you, contact your bank now.",
                    time: now))
        } catch {
            logger.error("new-device notice could not be delivered", metadata: ["device": "\(deviceID)"])
        }
        return issued.response(deviceID: deviceID, authority: authority, apiURL: apiURL)
    }

    static let enrollmentUsed = Refusal(.enrollmentUsed, "this enrollment was already completed")
    static let enrollmentExpired = Refusal(.enrollmentExpired, "this enrollment expired; start a new one")
    static let enrollmentLocked = Refusal(
        .enrollmentLocked, "this enrollment is locked after too many wrong codes; start a new one")

    static func rateLimited(_ window: EnrollmentWindow, now: Date, what: String) -> Refusal {
        let oldest = window.oldest ?? now
        let retryAfter = max(1, min(3600, Int((oldest.addingTimeInterval(3600).timeIntervalSince(now)).rounded(.up))))
        return Refusal(.rateLimited, "too many enrollment starts \(what); retry after \(retryAfter) seconds",
            retryAfter: retryAfter)
    }

    /// "+1******0100": the country prefix and the last four digits only.
    static func mask(_ phone: String) -> String {
        guard phone.count > 6 else { return String(repeating: "*", count: phone.count) }
        let head = phone.prefix(2)
        let tail = phone.suffix(4)
        return head + String(repeating: "*", count: phone.count - 6) + tail
    }

    static func randomBytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: 0 ... .max, using: &generator) }
    }

    static func randomToken(bytes: Int) -> String {
        NonceMinter.base64URL(randomBytes(bytes))
    }
}


import Crypto
import Foundation
import LatchkeyAttestation
import LatchkeyPKI
import HTTPTypes
import Hummingbird
import LatchkeyProtocol
import LatchkeyStore
import NIOConcurrencyHelpers
import NIOCore
import X509
import _CryptoExtras

/// Verifies the `sig1` request signature of every request routed through it (the group of ``SignedEndpoints``
/// routes), with the key of the connection's certificate, and leaves the evidence for the audit trail in the context.
///
/// Guarantees (SPEC §5): `keyid` is this device; `alg` matches its key; `created` is at most 5 minutes old and
/// 60 seconds ahead; `@method`, `@path`, `@query` and (with a body) `content-digest` are covered; the digest equals
/// the body; an `Idempotency-Key` header, when sent, is covered too; the signature verifies; the nonce was issued to
/// this device and has not expired. Only then is the request's ``ReplayGuard`` (nonce, App Attest counter) handed to
/// the handler, which spends it in the same transaction as its effect (one write per signed request); whatever the
/// handler does, the guard is spent exactly once (across all instances) before the answer leaves. Each failure has
/// its 401 code.
struct SignatureMiddleware: RouterMiddleware {
    typealias Context = LatchkeyRequestContext
    let store: any LatchkeyStore
    let clock: ServerClock
    let nonces: NonceMinter
    /// The App Attest app ids whose assertions are accepted (`--apple-app-id`).
    var appleAppIDs: [String] = []

    static func refuse(_ code: ErrorCode, _ message: String) -> Refusal { Refusal(code, message) }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var request = request
        var context = context
        let device = try context.requireDevice()
        let body: ByteBuffer
        do {
            body = try await request.collectBody(upTo: BodyLimit.maximumBytes)
        } catch {
            throw Refusal(.bodyTooLarge, "the request body is larger than 1 MiB")
        }
        let bodyData = Data(body.readableBytesView)
        let received: ReceivedSignature
        do {
            received = try ReceivedSignature.parse(
                signatureInput: request.headers[values: HTTPField.Name("Signature-Input")!].joined(separator: ", ")
                    .nilIfEmpty,
                signature: request.headers[values: HTTPField.Name("Signature")!].joined(separator: ", ").nilIfEmpty)
        } catch .missing {
            throw Self.refuse(.signatureMissing, "this endpoint requires an RFC 9421 signature labelled sig1")
        } catch .malformed(let reason) {
            throw Self.refuse(.signatureInvalid, reason)
        }
        let parameters = received.parameters
        guard parameters.keyID == device.identity.deviceID else {
            throw Self.refuse(.signatureInvalid, "keyid must be this device's id")
        }
        guard let key = Self.verificationKey(device.certificate.publicKey),
            parameters.algorithm == key.algorithm.rawValue
        else { throw Self.refuse(.signatureInvalid, "alg must match the device key") }
        guard let created = parameters.created else { throw Self.refuse(.signatureInvalid, "created is required") }
        let time = clock.now()
        let now = Int(time.timeIntervalSince1970)
        guard created >= now - 300, created <= now + 60 else {
            throw Self.refuse(.signatureInvalid, "created must be within the last 5 minutes")
        }
        guard let nonce = parameters.nonce else {
            throw Self.refuse(.nonceInvalid, "a nonce from GET /v1/nonce is required")
        }
        var required = ["@method", "@path", "@query"]
        if !bodyData.isEmpty { required.append("content-digest") }
        if request.headers[IdempotencyKey.field] != nil { required.append(IdempotencyKey.component) }
        guard required.allSatisfy(parameters.components.contains) else {
            throw Self.refuse(.signatureInvalid, "the signature must cover \(required.joined(separator: " "))")
        }
        var fields: [String: String] = [:]
        for field in request.headers {
            let name = field.name.canonicalName
            fields[name] = fields[name].map { $0 + ", " + field.value } ?? field.value
        }
        if parameters.components.contains("content-digest") {
            guard let header = fields["content-digest"], ContentDigest.parse(header) != nil else {
                throw Self.refuse(.digestMismatch, "Content-Digest is missing or malformed")
            }
            guard ContentDigest.matchesSHA256(header: header, body: bodyData) else {
                throw Self.refuse(.digestMismatch, "the body does not match its Content-Digest")
            }
        }
        let message = HTTPMessageParts(
            method: request.method.rawValue, path: request.uri.path, query: request.uri.query, fields: fields)
        let base: String
        do {
            base = try SignatureBase.build(
                message, components: parameters.components, signatureParams: received.signatureInput)
        } catch {
            throw Self.refuse(.signatureInvalid, "the covered components cannot be built from this request")
        }
        guard key.isValid(signature: received.signature, base: base) else {
            throw Self.refuse(.signatureInvalid, "the signature does not verify with this device's key")
        }
        var assertionCounter: Int64?
        if let attestKey = device.appAttestKey {
            assertionCounter = try checkAssertion(request, base: base, key: attestKey)
        }
        guard case .valid(let expiresAt) = nonces.check(nonce, deviceID: device.identity.deviceID, now: time) else {
            throw Self.refuse(.nonceInvalid, "the nonce is unknown, expired or not this device's")
        }
        let pending = PendingReplayGuard(
            ReplayGuard(
                nonce: nonce, deviceID: device.identity.deviceID, nonceExpiresAt: expiresAt, now: time,
                assertionCounter: assertionCounter))
        context.replayGuard = pending
        context.signatureEvidence = SignatureEvidence(
            serial: device.identity.serial, keyID: device.identity.deviceID, algorithm: key.algorithm.rawValue,
            signatureBase: base, signature: received.signature.base64EncodedString(), body: bodyData)
        let response: Response
        do {
            response = try await next(request, context)
        } catch {
            do {
                try await spendIfPending(pending)
            } catch let spent as StoreError where spent.code == .nonceReused && !Self.isRefusal(error) {
                // The handler's store call failed, yet its nonce is spent: that call may have committed with its
                // answer lost. Its outcome is unknown (503), not a replay.
                throw error
            }
            throw error
        }
        try await spendIfPending(pending)
        return response
    }

    /// Whether a handler's error is a refusal of the request (its effect certainly did not happen), not a failure.
    static func isRefusal(_ error: any Error) -> Bool {
        switch error {
        case let store as StoreError: store.isRefusal
        case is Refusal: Refusal.from(error).status.code < 500
        default: false
        }
    }

    /// Spends the guard in a transaction of its own if the handler did not spend it in its own (it refused before
    /// reaching the store, or the store failed): a verified signed request is never accepted twice, refused or not.
    /// A replay is answered `nonce_reused` (or `assertion_invalid`) instead of the handler's answer.
    func spendIfPending(_ pending: PendingReplayGuard) async throws {
        guard !pending.isSpent else { return }
        try await store.spendReplayGuard(pending.replayGuard)
    }

    static let assertionHeader = HTTPField.Name(AppAssertionHeader.name)!

    /// SPEC §6: an App Attest device's signed request carries `App-Assertion: :BASE64:`, an assertion over the exact
    /// signature base of `sig1`. Returns its counter, which must exceed the last one stored: checked (atomically,
    /// across instances) when the request's ``ReplayGuard`` is spent.
    func checkAssertion(_ request: Request, base: String, key: P256.Signing.PublicKey) throws -> Int64 {
        let values = request.headers[values: Self.assertionHeader]
        guard values.count == 1, let bytes = AppAssertionHeader.parse(values[0]) else {
            throw Refusal(
                .assertionInvalid,
                "this device was enrolled with App Attest: send one App-Assertion header (:BASE64:) over the signature base")
        }
        do {
            return Int64(
                try AppAttestAssertionVerifier(publicKey: key, appIDs: appleAppIDs)
                    .verify(assertion: bytes, clientData: Array(base.utf8), previousCounter: 0))
        } catch {
            throw AttestationAuthority.refusal(error)
        }
    }

    /// The verification key of a certificate's public key, if its type is one SPEC §5 signs with.
    static func verificationKey(_ key: Certificate.PublicKey) -> SignatureVerificationKey? {
        if let p256 = P256.Signing.PublicKey(key) { return .p256(p256) }
        if let p384 = P384.Signing.PublicKey(key) { return .p384(p384) }
        if let rsa = _RSA.Signing.PublicKey(key) { return .rsa(rsa) }
        return nil
    }
}

/// What an accepted signed request leaves in the audit trail, enough to check it offline later.
///
/// The body is kept as its exact bytes (base64), so the evidence verifies whatever the body's encoding; events
/// written before that kept it as text in `body`, which the verifier still reads.
public struct SignatureEvidence: Codable, Sendable, Equatable {
    public var serial: String
    public var keyID: String
    public var algorithm: String
    public var signatureBase: String
    public var signature: String
    /// The request body as received, base64; the signature covers it through `content-digest`.
    public var bodyBase64: String?
    /// The body as text, in events written before `body_base64` existed.
    public var legacyBody: String?

    public init(serial: String, keyID: String, algorithm: String, signatureBase: String, signature: String, body: Data)
    {
        self.serial = serial
        self.keyID = keyID
        self.algorithm = algorithm
        self.signatureBase = signatureBase
        self.signature = signature
        self.bodyBase64 = body.base64EncodedString()
        self.legacyBody = nil
    }

    /// The signed body's bytes, or nil if the stored base64 is damaged.
    public var bodyBytes: Data? {
        if let bodyBase64 { return Data(base64Encoded: bodyBase64) }
        return Data((legacyBody ?? "").utf8)
    }

    enum CodingKeys: String, CodingKey {
        case serial, algorithm, signature
        case keyID = "key_id"
        case signatureBase = "signature_base"
        case bodyBase64 = "body_base64"
        case legacyBody = "body"
    }
}

extension String {
    var nilIfEmpty: String? { isEmpty ? nil : self }
}

/// A verified signed request's ``ReplayGuard``, handed through the context to the handler, which spends it in its
/// own transaction (``spend(_:)``); ``SignatureMiddleware`` spends it itself after a handler that did not.
final class PendingReplayGuard: Sendable {
    let replayGuard: ReplayGuard
    private let spent = NIOLockedValueBox(false)

    init(_ replayGuard: ReplayGuard) { self.replayGuard = replayGuard }

    var isSpent: Bool { spent.withLockedValue { $0 } }

    /// Runs a store call that spends the guard; marks it spent when the call committed, or was refused (the store
    /// then committed the spending, or found it spent before), but not when the database failed.
    func spend<R>(_ body: (ReplayGuard) async throws -> R) async throws -> R {
        do {
            let result = try await body(replayGuard)
            spent.withLockedValue { $0 = true }
            return result
        } catch let error as StoreError where error.isRefusal {
            spent.withLockedValue { $0 = true }
            throw error
        }
    }
}

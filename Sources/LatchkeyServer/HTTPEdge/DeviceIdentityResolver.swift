import Crypto
import Foundation
import Hummingbird
import LatchkeyPKI
import LatchkeyProtocol
import LatchkeyStore
import NIOCore
import NIOSSL
import X509

/// A device whose certificate verified and whose state in the store allows it to call the API.
public struct VerifiedDevice: Sendable {
    public let identity: DeviceIdentity
    public let certificate: Certificate
    public let username: String
    /// How the device was enrolled (SPEC §6); renewal keeps it.
    public let assurance: DeviceAssurance
    /// An App Attest device's attested key: every signed request must carry an assertion made with it.
    public let appAttestKey: P256.Signing.PublicKey?

    public init(
        identity: DeviceIdentity, certificate: Certificate, username: String, assurance: DeviceAssurance = .oob,
        appAttestKey: P256.Signing.PublicKey? = nil
    ) {
        self.identity = identity
        self.certificate = certificate
        self.username = username
        self.assurance = assurance
        self.appAttestKey = appAttestKey
    }
}

/// Turns the client certificate of a mutual-TLS connection into a ``VerifiedDevice``, or refuses it.
///
/// Guarantees: a device is returned only if the certificate chains to the issuing CA with EKU clientAuth (PKI core),
/// is known to the store, is not expired or revoked, and its device is active. The store is asked on every request
/// (one indexed query), so a revocation through any instance applies to the next request. Parsed certificates are
/// cached by their DER bytes: parsing and chain checks are not repeated per request.
public actor DeviceIdentityResolver {
    let validator: ClientCertificateValidator
    let store: any LatchkeyStore
    private var parsed: [ByteBuffer: (Certificate, DeviceIdentity)] = [:]

    public init(authority: CertificateAuthority, store: any LatchkeyStore) {
        self.validator = ClientCertificateValidator(authority: authority)
        self.store = store
    }

    static let noCertificate = Refusal(.certificateUnknown, "a client certificate is required")

    /// The device of a client certificate (DER) at `now`, or the refusal that applies.
    public func resolve(certificate der: ByteBuffer, now: Date) async throws -> VerifiedDevice {
        let (certificate, identity) = try await parse(der, now: now)
        if identity.notAfter < now {
            throw Refusal(.certificateExpired, "the client certificate expired; renew or enroll again")
        }
        guard let status = try await store.certificateStatus(serial: identity.serial),
            status.deviceID == identity.deviceID, status.userID == identity.userID
        else {
            throw Refusal(.certificateUnknown, "the client certificate is not known to this server")
        }
        if status.deviceStatus != .active {
            throw Refusal(.deviceRevoked, "this device was revoked")
        }
        if status.certificateRevokedAt != nil {
            throw Refusal(.certificateRevoked, "this certificate was revoked (renewed or withdrawn)")
        }
        if status.userStatus != .active {
            throw Refusal(.deviceRevoked, "the account of this device is disabled")
        }
        // An assurance this version does not know refuses the request: it may call for checks it cannot make.
        guard let assurance = DeviceAssurance(rawValue: status.assurance) else { throw Refusal.internalError }
        var appAttestKey: P256.Signing.PublicKey?
        if assurance == .appleAppAttest {
            guard let encoded = status.attestPublicKey.flatMap({ Data(base64Encoded: $0) }),
                let key = try? P256.Signing.PublicKey(x963Representation: encoded)
            else { throw Refusal.internalError }
            appAttestKey = key
        }
        return VerifiedDevice(
            identity: identity, certificate: certificate, username: status.username, assurance: assurance,
            appAttestKey: appAttestKey)
    }

    /// The TLS handshake's check of a client certificate (NIOSSL's custom verification callback on the API
    /// listener): the leaf must chain to the issuing CA with EKU clientAuth and be within its validity.
    ///
    /// It replaces BoringSSL's own chain building, which verified the issuing CA's P-384 signature by the root on
    /// every handshake; a certificate that passed once is recognized by its exact DER bytes, so a device's later
    /// handshakes cost a dictionary lookup. Proof of possession of the key stays with TLS (CertificateVerify), and
    /// revocation is checked per request by ``resolve(certificate:now:)``.
    public nonisolated func verificationCallback()
        -> @Sendable (
            [NIOSSLCertificate], EventLoopPromise<NIOSSLVerificationResult>
        ) -> Void
    {
        { certificates, promise in
            guard let leaf = certificates.first, let der = try? leaf.toDERBytes() else {
                promise.succeed(.failed)
                return
            }
            promise.completeWithTask {
                await self.admitsHandshake(leafDER: der) ? .certificateVerified : .failed
            }
        }
    }

    func admitsHandshake(leafDER: [UInt8], now: Date = Date()) async -> Bool {
        guard let (certificate, identity) = try? await parse(ByteBuffer(bytes: leafDER), now: now) else { return false }
        return certificate.notValidBefore <= now && identity.notAfter >= now
    }

    private func parse(_ der: ByteBuffer, now: Date) async throws -> (Certificate, DeviceIdentity) {
        if let cached = parsed[der] { return cached }
        let certificate: Certificate
        do {
            certificate = try Certificate(derEncoded: Array(der.readableBytesView))
        } catch {
            throw Refusal(.certificateUnknown, "the client certificate cannot be parsed")
        }
        let identity = try await validator.validate(chain: [certificate, validator.issuing], at: now)
        if parsed.count >= 10_000 { parsed.removeAll(keepingCapacity: true) }
        parsed[der] = (certificate, identity)
        return (certificate, identity)
    }
}

/// Verifies the device on every API request before any handler runs, and records when it was last seen.
///
/// On a mutual-TLS connection whose device was verified before, the answer comes from ``DeviceSessions`` (memory,
/// no store, no actor) unless something was revoked since or change tracking is not current; otherwise the store
/// is asked (``DeviceIdentityResolver``), as on a connection's first request.
struct DeviceIdentityMiddleware: RouterMiddleware {
    typealias Context = LatchkeyRequestContext
    let resolver: DeviceIdentityResolver
    let certificates: any ClientCertificateSource
    let lastSeen: LastSeenRecorder
    let sessions: DeviceSessions
    let clock: ServerClock

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        let now = clock.now()
        let perConnection = certificates.isPerConnection
        let device: VerifiedDevice
        if perConnection, let known = sessions.device(on: context.channel, now: now) {
            device = known
        } else {
            guard let der = try await certificates.certificate(for: request, context: context) else {
                throw DeviceIdentityResolver.noCertificate
            }
            let generation = sessions.generation
            device = try await resolver.resolve(certificate: der, now: now)
            if perConnection { sessions.remember(device, on: context.channel, generation: generation) }
        }
        context.device = device
        context.facts.deviceID = device.identity.deviceID
        context.logger[metadataKey: "device"] = "\(device.identity.deviceID)"
        lastSeen.saw(device.identity.deviceID, at: now)
        return try await next(request, context)
    }
}

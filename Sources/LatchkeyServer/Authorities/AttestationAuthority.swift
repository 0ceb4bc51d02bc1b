import Crypto
import Foundation
import LatchkeyAttestation
import LatchkeyPKI
import LatchkeyProtocol
import NIOConcurrencyHelpers

/// `--attestation off|optional|required` (SPEC §6).
public enum AttestationMode: String, Sendable, CaseIterable {
    /// Attestations are not looked at; every device is `oob`.
    case off
    /// An attestation, when sent, must verify; without one the device is `oob`.
    case optional
    /// Every enrollment must carry an attestation that verifies.
    case required
}

/// The attestation options of `latchkey serve`.
public struct AttestationSettings: Sendable {
    public var mode: AttestationMode = .optional
    public var appleAppIDs: [String] = []
    public var appleEnvironment: AppAttestEnvironment = .production
    public var androidPackages: [AndroidPackageRule] = []
    public var androidAllowUnverifiedBoot = false
    /// `POST /v1/transfers` from an `oob` device gets 403 `attestation_required`.
    public var transfersRequireAttestation = false
    /// An installed revocation list older than this refuses Android attestations.
    public var androidRevocationsMaxAge: TimeInterval = 48 * 3600

    public init() {}
}

/// What an enrollment's attestation established about the device.
public struct DeviceAttestation: Sendable, Equatable {
    public let assurance: DeviceAssurance
    /// App Attest: the key id (base64) and the attested key (base64 of the uncompressed point).
    public let appAttestKeyID: String?
    public let appAttestPublicKey: String?

    public static let oob = DeviceAttestation(assurance: .oob, appAttestKeyID: nil, appAttestPublicKey: nil)
}

/// Decides an enrollment's attestation (SPEC §6): verifies it against the trust anchors, the policy and this
/// enrollment's challenge and CSR, and names the device's assurance.
///
/// Guarantees: under `required` no enrollment completes without a verified attestation; an App Attest attestation
/// binds this enrollment's challenge and the CSR's exact DER; an Android chain's leaf key is the CSR's key; Android
/// attestations are refused while the revocation list is missing or older than its maximum age (fail closed);
/// missing trust anchors refuse with `attestation_unavailable`, never accept.
public struct AttestationAuthority: Sendable {
    public let settings: AttestationSettings
    public let anchors: AttestationTrustAnchors
    let revocations: AndroidRevocationSource?

    public init(settings: AttestationSettings, anchors: AttestationTrustAnchors, androidRevocationsPath: String?) {
        self.settings = settings
        self.anchors = anchors
        self.revocations = androidRevocationsPath.map { AndroidRevocationSource(path: $0) }
    }

    /// No anchors, no revocation list: attestations can only be refused (the default of in-process tests).
    public static let unconfigured = AttestationAuthority(
        settings: AttestationSettings(), anchors: AttestationTrustAnchors(), androidRevocationsPath: nil)

    static let required = Refusal(
        .attestationRequired, "this server requires an app attestation (App Attest or Android Key Attestation)")

    func attest(_ payload: AttestationPayload?, challenge: String?, csr: AcceptedCSR, now: Date) async throws
        -> DeviceAttestation
    {
        guard settings.mode != .off else { return .oob }
        guard let payload else {
            if settings.mode == .required { throw Self.required }
            return .oob
        }
        guard let challenge, let challengeBytes = Data(base64Encoded: challenge) else {
            throw Refusal(
                .attestationInvalid, "challenge: this enrollment has no attestation challenge; start a new one")
        }
        do {
            switch payload.format {
            case AttestationPayload.appleAppAttest:
                return try await apple(payload, challenge: Array(challengeBytes), csr: csr, now: now)
            case AttestationPayload.androidKey:
                return try android(payload, challenge: Array(challengeBytes), csr: csr, now: now)
            default:
                throw Refusal(
                    .attestationUnsupported,
                    "the attestation format must be \(AttestationPayload.appleAppAttest) or \(AttestationPayload.androidKey)")
            }
        } catch let error as AttestationError {
            throw Self.refusal(error)
        }
    }

    static func refusal(_ error: AttestationError) -> Refusal {
        switch error.code {
        case .invalid: Refusal(.attestationInvalid, error.message)
        case .unsupported: Refusal(.attestationUnsupported, error.message)
        case .unavailable: Refusal(.attestationUnavailable, error.message, retryAfter: 60)
        case .assertionInvalid: Refusal(.assertionInvalid, error.message)
        }
    }

    private func apple(_ payload: AttestationPayload, challenge: [UInt8], csr: AcceptedCSR, now: Date) async throws
        -> DeviceAttestation
    {
        guard let keyID = payload.keyID.flatMap({ Data(base64Encoded: $0) }),
            let object = payload.attestationObject.flatMap({ Data(base64Encoded: $0) })
        else {
            throw Refusal(.attestationInvalid, "input: key_id and attestation_object must be base64")
        }
        guard !settings.appleAppIDs.isEmpty else {
            throw AttestationError(.unavailable, check: "app_id", "this server accepts no App Attest app (--apple-app-id)")
        }
        let verifier = AppAttestVerifier(
            anchors: anchors.apple, appIDs: settings.appleAppIDs, environment: settings.appleEnvironment)
        let result = try await verifier.verify(
            attestationObject: Array(object), keyID: Array(keyID),
            clientDataHash: AppAttestVerifier.enrollmentClientDataHash(challenge: challenge, csrDER: csr.der), at: now)
        return DeviceAttestation(
            assurance: .appleAppAttest, appAttestKeyID: Data(result.keyID).base64EncodedString(),
            appAttestPublicKey: result.publicKey.x963Representation.base64EncodedString())
    }

    private func android(_ payload: AttestationPayload, challenge: [UInt8], csr: AcceptedCSR, now: Date) throws
        -> DeviceAttestation
    {
        guard let encoded = payload.certificateChain, !encoded.isEmpty else {
            throw Refusal(.attestationInvalid, "input: certificate_chain must hold the chain, leaf first")
        }
        var chain: [[UInt8]] = []
        for certificate in encoded {
            guard let der = Data(base64Encoded: certificate) else {
                throw Refusal(.attestationInvalid, "input: certificate_chain entries must be base64 DER")
            }
            chain.append(Array(der))
        }
        guard !settings.androidPackages.isEmpty else {
            throw AttestationError(
                .unavailable, check: "package", "this server accepts no Android app (--android-package)")
        }
        guard let source = revocations, let list = source.current(now: now) else {
            throw AttestationError(
                .unavailable, check: "revocation_list",
                "no Android revocation list is installed (latchkey attest revocations install)")
        }
        // A list dated in the future (a clock set wrong, a copied file) is not counted as fresh.
        let age = now.timeIntervalSince(list.installedAt)
        guard age <= settings.androidRevocationsMaxAge, age >= -300 else {
            throw AttestationError(
                .unavailable, check: "revocation_list", "the Android revocation list is older than its maximum age")
        }
        let verifier = AndroidKeyAttestationVerifier(
            anchors: anchors.google, packages: settings.androidPackages,
            allowUnverifiedBoot: settings.androidAllowUnverifiedBoot, revocations: list)
        let result = try verifier.verify(chain: chain, challenge: challenge, at: now)
        guard result.leafPublicKey == csr.publicKey else {
            throw Refusal(.attestationInvalid, "key: the attested key is not the CSR's key")
        }
        return DeviceAttestation(
            assurance: result.securityLevel == .strongBox ? .androidStrongBox : .androidTEE, appAttestKeyID: nil,
            appAttestPublicKey: nil)
    }
}

/// The installed Android revocation list, re-read when its file changes (checked at most every 10 seconds), so
/// `latchkey attest revocations install` reaches a running server within 10 s.
///
/// Guarantees: a file that cannot be read or parsed counts as missing (Android attestations are refused), never as
/// an empty list.
final class AndroidRevocationSource: Sendable {
    let path: String
    private let state = NIOLockedValueBox<(checkedAt: Date, list: AndroidRevocationList?)?>(nil)

    init(path: String) { self.path = path }

    func current(now: Date) -> AndroidRevocationList? {
        if let cached = state.withLockedValue({ $0 }), now.timeIntervalSince(cached.checkedAt) < 10,
            now >= cached.checkedAt
        {
            return cached.list
        }
        let list = (try? AttestationFiles.readRevocations(at: path)) ?? nil
        state.withLockedValue { $0 = (now, list) }
        return list
    }
}

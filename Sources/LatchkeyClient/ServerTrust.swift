import Foundation
import LatchkeyPKI
import NIOConcurrencyHelpers
import NIOCore
import NIOSSL
import SwiftASN1
@_spi(FixedExpiryValidationTime) import X509

/// Decides whether a server's TLS chain is acceptable: the normal chain check AND a pin match, both required.
///
/// Why not AsyncHTTPClient: it has no hook for a custom verification callback, so it can verify a chain or pin
/// nothing. Latchkey's transport runs on SwiftNIO with NIOSSL's `customVerificationCallback`, which replaces
/// BoringSSL's own verification: so this evaluator runs the full chain check itself (swift-certificates `Verifier`:
/// RFC 5280 path to the pinned private CA, validity, host name) and then the pin check.
///
/// Before the CA is known (the first contact of an enrollment with only `--server` and `--pin`), the leaf's
/// validity and host name and the pin authenticate the server; the client then fetches `/v1/ca` over that pinned
/// connection and from then on requires the full chain too.
public struct ServerTrust: Sendable {
    public let pins: PinSet
    /// The trusted roots (the Latchkey root); empty only for the first contact.
    public let roots: [Certificate]

    public init(pins: PinSet, roots: [Certificate]) {
        self.pins = pins
        self.roots = roots
    }

    /// Evaluates the chain the server presented (leaf first) for `hostname` at `now`.
    ///
    /// The pins are matched only against what was authenticated: with a CA, the path the verifier built from the
    /// leaf to that CA (certificates the server appended but the path does not use are ignored); on first contact,
    /// the leaf alone, whose key signed the handshake. An interceptor that sends its own leaf followed by the real
    /// server certificate is refused.
    public func evaluate(_ presented: [Certificate], hostname: String, now: Date = Date()) async throws(ClientError) {
        guard let leaf = presented.first else { throw .untrustedServer(host: hostname, reason: "no certificate") }
        let isIP = ServerCertificateIssuer.ipAddressBytes(hostname) != nil
        if roots.isEmpty {
            try pins.check(handshakeLeaf: leaf, now: now)
            guard leaf.notValidBefore <= now, now <= leaf.notValidAfter else {
                throw .untrustedServer(host: hostname, reason: "the certificate is outside its validity period")
            }
            // The leaf alone, as its own anchor: its validity was checked above; only its host name and purpose
            // are checked here.
            var verifier = Verifier(rootCertificates: CertificateStore([leaf])) {
                LeafOnlyExtensions()
                ServerAuthenticationPolicy()
                ServerIdentityPolicy(serverHostname: isIP ? nil : hostname, serverIP: isIP ? hostname : nil)
            }
            guard case .validCertificate = await verifier.validate(leaf: leaf, intermediates: CertificateStore()) else {
                throw .untrustedServer(
                    host: hostname, reason: "the certificate is not a server certificate valid for this host name")
            }
        } else {
            var verifier = Verifier(rootCertificates: CertificateStore(roots)) {
                RFC5280Policy(fixedExpiryValidationTime: now)
                ServerAuthenticationPolicy()
                ServerIdentityPolicy(serverHostname: isIP ? nil : hostname, serverIP: isIP ? hostname : nil)
            }
            let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(presented.dropFirst()))
            guard case .validCertificate(let verified) = result else {
                // An interceptor with a certificate of its own is reported as the pin failure it also is.
                try pins.check(handshakeLeaf: leaf, now: now)
                throw .untrustedServer(
                    host: hostname, reason: "the chain does not verify to the pinned CA for this host name and time")
            }
            try pins.check(verifiedChain: verified, now: now)
        }
    }

    /// NIOSSL's callback form: records the reason of a refusal in `failure` so the caller can report it.
    func callback(hostname: String, failure: NIOLockedValueBox<ClientError?>) -> NIOSSLCustomVerificationCallback {
        { certificates, promise in
            let parsed = certificates.compactMap { try? Certificate(derEncoded: (try? $0.toDERBytes()) ?? []) }
            promise.completeWithTask {
                do {
                    guard parsed.count == certificates.count else {
                        throw ClientError.untrustedServer(host: hostname, reason: "a certificate cannot be parsed")
                    }
                    try await self.evaluate(parsed, hostname: hostname)
                    return .certificateVerified
                } catch {
                    let refusal = (error as? ClientError) ?? .untrustedServer(host: hostname, reason: "\(error)")
                    failure.withLockedValue { $0 = refusal }
                    return .failed
                }
            }
        }
    }
}

/// The leaf must be meant for servers: an extended key usage without serverAuth (a device certificate, say) is
/// refused.
struct ServerAuthenticationPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = []

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        let usage: ExtendedKeyUsage?
        do {
            usage = try chain.leaf.extensions.extendedKeyUsage
        } catch {
            return .failsToMeetPolicy(reason: "the leaf's extended key usage cannot be read")
        }
        if let usage, !usage.contains(.serverAuth) {
            return .failsToMeetPolicy(reason: "the leaf is not a server certificate")
        }
        return .meetsPolicy
    }
}

/// For the first contact only, where the leaf is checked on its own: its critical CA-profile extensions
/// (basic constraints, key usage, EKU) are acknowledged, since no chain is being built from it.
struct LeafOnlyExtensions: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [
        .X509ExtensionID.basicConstraints, .X509ExtensionID.keyUsage, .X509ExtensionID.extendedKeyUsage,
    ]

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        .meetsPolicy
    }
}

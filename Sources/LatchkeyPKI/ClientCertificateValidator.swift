import Foundation
import SwiftASN1
@_spi(FixedExpiryValidationTime) import X509

/// Checks a client certificate chain presented on a connection and names the device it speaks for.
///
/// Guarantees: a ``DeviceIdentity`` is returned only if the leaf chains through the presented intermediates to the
/// issuing CA and the root (RFC 5280 path validation at the given time), carries EKU clientAuth, and names exactly
/// one device and one user in its SAN URIs. Revocation is not checked here: that needs the store.
public struct ClientCertificateValidator: Sendable {
    public let root: Certificate
    public let issuing: Certificate

    public init(authority: CertificateAuthority) {
        self.root = authority.root
        self.issuing = authority.issuing
    }

    public init(root: Certificate, issuing: Certificate) {
        self.root = root
        self.issuing = issuing
    }

    /// Validates `chain` (leaf first, then the intermediates the client sent) at `time`.
    public func validate(chain: [Certificate], at time: Date = Date()) async throws -> DeviceIdentity {
        guard let leaf = chain.first else {
            throw PKIError(.certificateUntrusted, "no client certificate was presented")
        }
        var verifier = Verifier(rootCertificates: CertificateStore([root])) {
            RFC5280Policy(fixedExpiryValidationTime: time)
            ClientAuthenticationPolicy()
        }
        let result = await verifier.validate(leaf: leaf, intermediates: CertificateStore(chain.dropFirst()))
        guard case .validCertificate = result else {
            throw diagnose(leaf: leaf, at: time)
        }
        return try Self.identity(of: leaf)
    }

    /// Names the first reason a leaf that did not validate was refused, most specific first.
    func diagnose(leaf: Certificate, at time: Date) -> PKIError {
        guard leaf.issuer == issuing.subject, issuing.publicKey.isValidSignature(leaf.signature, for: leaf) else {
            return PKIError(.certificateUntrusted, "the certificate was not issued by this server's issuing CA")
        }
        if leaf.notValidAfter < time {
            return PKIError(.certificateExpired, "the certificate expired at \(leaf.notValidAfter)")
        }
        if leaf.notValidBefore > time {
            return PKIError(.certificateNotYetValid, "the certificate is not valid before \(leaf.notValidBefore)")
        }
        if !ClientAuthenticationPolicy.allowsClientAuthentication(leaf) {
            return PKIError(
                .certificateNotForClientAuth, "the certificate's extended key usage does not include clientAuth")
        }
        return PKIError(
            .certificateUntrusted,
            "the certificate does not chain to the root through the issuing CA (is the issuing CA missing from the chain?)"
        )
    }

    /// The device and user named in a certificate's SAN URIs.
    public static func identity(of leaf: Certificate) throws -> DeviceIdentity {
        let names = (try? leaf.extensions.subjectAlternativeNames) ?? nil
        var devices: [String] = []
        var users: [String] = []
        for name in names ?? SubjectAlternativeNames() {
            guard case .uniformResourceIdentifier(let uri) = name else { continue }
            if uri.hasPrefix("urn:latchkey:device:") { devices.append(String(uri.dropFirst(20))) }
            if uri.hasPrefix("urn:latchkey:user:") { users.append(String(uri.dropFirst(18))) }
        }
        guard devices.count == 1, users.count == 1, let device = devices.first, let user = users.first,
            !device.isEmpty, !user.isEmpty
        else {
            throw PKIError(
                .certificateIdentityMissing, "the certificate does not name exactly one Latchkey device and user")
        }
        return DeviceIdentity(
            userID: user, deviceID: device, serial: SerialNumberGenerator.hex(leaf.serialNumber),
            notAfter: leaf.notValidAfter)
    }
}

/// A verifier policy that requires the leaf to allow TLS client authentication (EKU clientAuth).
struct ClientAuthenticationPolicy: VerifierPolicy {
    let verifyingCriticalExtensions: [ASN1ObjectIdentifier] = [.X509ExtensionID.extendedKeyUsage]

    func chainMeetsPolicyRequirements(chain: UnverifiedCertificateChain) async -> PolicyEvaluationResult {
        Self.allowsClientAuthentication(chain.leaf)
            ? .meetsPolicy : .failsToMeetPolicy(reason: "the leaf's extended key usage does not include clientAuth")
    }

    static func allowsClientAuthentication(_ certificate: Certificate) -> Bool {
        guard let usage = (try? certificate.extensions.extendedKeyUsage) ?? nil else { return false }
        return usage.contains(.clientAuth)
    }
}

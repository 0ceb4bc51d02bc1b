import Crypto
import _CryptoExtras
import Foundation
import LatchkeyPKI
import SwiftASN1
import X509

/// An Android package an operator accepts: its name and the SHA-256 of its signing certificate.
public struct AndroidPackageRule: Sendable, Equatable {
    public let name: String
    public let signingDigest: [UInt8]

    public init(name: String, signingDigest: [UInt8]) {
        self.name = name
        self.signingDigest = signingDigest
    }

    /// Parses `NAME:SHA256_BASE64` (the `--android-package` syntax).
    public init(argument: String) throws(AttestationError) {
        guard let colon = argument.lastIndex(of: ":"), colon != argument.startIndex,
            let digest = Data(base64Encoded: String(argument[argument.index(after: colon)...])), digest.count == 32
        else {
            throw AttestationError(
                .invalid, check: "input", "a package must be NAME:SHA256_BASE64 (the signing digest, 32 bytes)")
        }
        self.init(name: String(argument[..<colon]), signingDigest: Array(digest))
    }
}

/// What an accepted Android attestation says about the key.
public struct AndroidAttestationResult: Sendable {
    public let description: AndroidKeyDescription
    public let securityLevel: AndroidKeyDescription.SecurityLevel
    /// The leaf's SubjectPublicKeyInfo, DER: the attested key.
    public let leafSPKI: [UInt8]
    public let leafPublicKey: Certificate.PublicKey
    public let revocationChecked: Bool
}

/// Verifies an Android Key Attestation certificate chain (leaf first) the way Google's verifier does.
///
/// Guarantees: a result is returned only if every certificate is signed by the next one and names it as issuer; the
/// last one is a trusted root (matched by public key: Google reissues its roots with the same key) or is signed by
/// one; every certificate but the trusted root is valid at `time` (roots outlive their certificates, so theirs is not
/// checked); no certificate is on the revocation list (when one is given); only the leaf carries the KeyDescription;
/// the challenge matches; the security level is TEE or StrongBox; the hardware root of trust is verified and locked
/// unless `allowUnverifiedBoot`; one attested package matches a rule (when rules are given); and the leaf's key is EC
/// or RSA. Factory chains whose intermediates say CA:FALSE are accepted, as Google's verifier accepts them: the trust
/// comes from the keys, and a certificate signed by an attested key is refused because its issuer carries the
/// extension.
public struct AndroidKeyAttestationVerifier: Sendable {
    public let anchors: [Certificate]
    public let packages: [AndroidPackageRule]
    public let allowUnverifiedBoot: Bool
    public let revocations: AndroidRevocationList?

    public init(
        anchors: [Certificate], packages: [AndroidPackageRule], allowUnverifiedBoot: Bool,
        revocations: AndroidRevocationList?
    ) {
        self.anchors = anchors
        self.packages = packages
        self.allowUnverifiedBoot = allowUnverifiedBoot
        self.revocations = revocations
    }

    public func verify(chain der: [[UInt8]], challenge: [UInt8], at time: Date) throws(AttestationError)
        -> AndroidAttestationResult
    {
        guard !anchors.isEmpty else {
            throw AttestationError(.unavailable, check: "trust_anchors", "no Android attestation root is installed")
        }
        guard der.count >= 2, der.count <= 10 else {
            throw .invalid("chain", "the chain must hold 2 to 10 certificates, leaf first")
        }
        var chain: [Certificate] = []
        for (index, bytes) in der.enumerated() {
            do { chain.append(try Certificate(derEncoded: bytes)) } catch {
                throw .invalid(
                    "chain", "certificate \(index) cannot be read (unsupported algorithm or malformed): \(error)")
            }
        }
        try verifyChain(chain, at: time)
        if let revocations {
            for (index, certificate) in chain.enumerated() {
                if let status = revocations.status(serial: Array(certificate.serialNumber.bytes)) {
                    throw .invalid("revocation", "certificate \(index) is \(status.lowercased()) on the status list")
                }
            }
        }
        for (index, certificate) in chain.enumerated().dropFirst()
        where certificate.extensions[oid: AndroidKeyDescription.extensionOID] != nil {
            throw .invalid("extension", "certificate \(index) carries a key description: only the leaf may")
        }
        guard let ext = chain[0].extensions[oid: AndroidKeyDescription.extensionOID] else {
            throw .invalid("extension", "the leaf carries no key description")
        }
        let description = try AndroidKeyDescription(berEncoded: Array(ext.value))
        guard description.attestationChallenge == challenge else {
            throw .invalid("challenge", "the attestation challenge is not this enrollment's")
        }
        let level = description.attestationSecurityLevel
        guard level == .trustedEnvironment || level == .strongBox else {
            throw .invalid("security_level", "the key is attested by software, not by a TEE or StrongBox")
        }
        guard let root = description.rootOfTrust else {
            throw .invalid("root_of_trust", "the hardware-enforced list has no root of trust")
        }
        if !allowUnverifiedBoot {
            guard root.verifiedBootState == .verified else {
                throw .invalid("boot_state", "the verified boot state is \(root.verifiedBootState.name), not verified")
            }
            guard root.deviceLocked else { throw .invalid("boot_state", "the bootloader is unlocked") }
        }
        if !packages.isEmpty {
            guard let application = description.applicationID else {
                throw .invalid("package", "the attestation names no application")
            }
            let matches = packages.contains { rule in
                application.packages.contains { $0.name == rule.name }
                    && application.signatureDigests.contains(rule.signingDigest)
            }
            guard matches else {
                throw .invalid("package", "no attested package and signing digest is an accepted one")
            }
        }
        let key = chain[0].publicKey
        guard P256.Signing.PublicKey(key) != nil || P384.Signing.PublicKey(key) != nil
            || P521.Signing.PublicKey(key) != nil || _RSA.Signing.PublicKey(key) != nil
        else { throw .invalid("key", "the attested key is neither EC nor RSA") }
        return AndroidAttestationResult(
            description: description, securityLevel: level, leafSPKI: SPKIPin.subjectPublicKeyInfoDER(key), leafPublicKey: key,
            revocationChecked: revocations != nil)
    }

    /// Checks signatures, names and validity; returns the index of the chain's trusted root, or nil if the root was
    /// not sent and the last certificate is signed by a trusted root.
    @discardableResult
    private func verifyChain(_ chain: [Certificate], at time: Date) throws(AttestationError) -> Int? {
        for index in 0..<(chain.count - 1) {
            let subject = chain[index]
            let issuer = chain[index + 1]
            guard subject.issuer == issuer.subject, issuer.publicKey.isValidSignature(subject.signature, for: subject)
            else {
                throw .invalid(
                    "chain", "certificate \(index) is not signed by certificate \(index + 1) (is the order wrong?)")
            }
        }
        let last = chain[chain.count - 1]
        var anchoredIndex: Int?
        // The leaf is never the anchor: its key description would then be vouched for by no signature.
        if chain.count >= 2, anchors.contains(where: { $0.publicKey == last.publicKey }) {
            anchoredIndex = chain.count - 1
        } else if !anchors.contains(where: {
            $0.subject == last.issuer && $0.publicKey.isValidSignature(last.signature, for: last)
        }) {
            throw .invalid("chain", "the chain does not end in a trusted hardware attestation root")
        }
        for (index, certificate) in chain.enumerated() where index != anchoredIndex {
            if certificate.notValidAfter < time {
                throw .invalid("validity", "certificate \(index) expired at \(AppAttestVerifier.format(certificate.notValidAfter))")
            }
            if certificate.notValidBefore > time {
                throw .invalid(
                    "validity", "certificate \(index) is not valid before \(AppAttestVerifier.format(certificate.notValidBefore))")
            }
        }
        return anchoredIndex
    }
}

import Crypto
import Foundation
import LatchkeyPKI
import SwiftASN1
import X509

/// The roots attestations must chain to: Apple's App Attestation Root CA and Google's hardware attestation roots,
/// plus any extra root an operator names.
///
/// Guarantees: a file from the roots directory is trusted only if the SHA-256 of its DER is one of the published
/// fingerprints (SPEC §6); an extra root is trusted for both formats and is listed in `extraRoots` so the server can
/// say so at start.
public struct AttestationTrustAnchors: Sendable {
    /// SHA-256 of Apple's "App Attestation Root CA" (DER), uppercase hex.
    public static let appleRootFingerprint = "1CB9823BA28BA6AD2D33A006941DE2AE4F513EF1D4E831B9F7E0FA7B6242C932"
    /// SHA-256 of Google's hardware attestation roots (DER): the RSA-4096 root (2022 issue) and "Key Attestation CA1".
    public static let googleRootFingerprints: Set<String> = [
        "CEDB1CB6DC896AE5EC797348BCE9286753C2B38EE71CE0FBE34A9A1248800DFC",
        "6D9DB4CE6C5C0B293166D08986E05774A8776CEB525D9E4329520DE12BA4BCC0",
    ]

    public enum Kind: String, Sendable { case apple, google }

    public private(set) var apple: [Certificate]
    public private(set) var google: [Certificate]
    public private(set) var extraRoots: [Certificate]

    public init(apple: [Certificate] = [], google: [Certificate] = [], extraRoots: [Certificate] = []) {
        self.apple = apple + extraRoots
        self.google = google + extraRoots
        self.extraRoots = extraRoots
    }

    public var isEmpty: Bool { apple.isEmpty && google.isEmpty }

    /// Which published root a certificate is, by the SHA-256 of its DER; nil for any other certificate.
    public static func kind(of certificate: Certificate) -> Kind? {
        let fingerprint = Hex.lowercase(SHA256.hash(data: DERBytes.of(certificate))).uppercased()
        if fingerprint == appleRootFingerprint { return .apple }
        if googleRootFingerprints.contains(fingerprint) { return .google }
        return nil
    }

    /// Loads `directory/*.pem`; files that are not one published root are left out and named in `ignored`.
    public static func load(directory: String, extraRoots: [Certificate] = []) -> (
        anchors: AttestationTrustAnchors, ignored: [String]
    ) {
        var apple: [Certificate] = []
        var google: [Certificate] = []
        var ignored: [String] = []
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).sorted()
        for name in names where name.hasSuffix(".pem") {
            guard let certificates = PEMCertificates.read(file: "\(directory)/\(name)"), certificates.count == 1
            else {
                ignored.append(name)
                continue
            }
            switch kind(of: certificates[0]) {
            case .apple: apple.append(certificates[0])
            case .google: google.append(certificates[0])
            case nil: ignored.append(name)
            }
        }
        return (AttestationTrustAnchors(apple: apple, google: google, extraRoots: extraRoots), ignored)
    }
}

/// DER of certificates and PEM bundles of them.
enum DERBytes {
    static func of(_ certificate: Certificate) -> [UInt8] {
        var serializer = DER.Serializer()
        // A parsed or built certificate always serializes.
        try? serializer.serialize(certificate)
        return serializer.serializedBytes
    }
}

/// Every certificate of a PEM text, in order.
public enum PEMCertificates {
    public static func parse(_ text: String) throws -> [Certificate] {
        let documents = try PEMDocument.parseMultiple(pemString: text)
        guard !documents.isEmpty else {
            throw AttestationError(.invalid, check: "input", "no PEM certificate was found")
        }
        return try documents.map { document in
            guard document.discriminator == "CERTIFICATE" else {
                throw AttestationError(.invalid, check: "input", "a PEM block is not a CERTIFICATE")
            }
            return try Certificate(derEncoded: document.derBytes)
        }
    }

    /// The certificates of a PEM file, or nil if it cannot be read or holds none.
    public static func read(file: String) -> [Certificate]? {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return nil }
        return try? parse(text)
    }
}

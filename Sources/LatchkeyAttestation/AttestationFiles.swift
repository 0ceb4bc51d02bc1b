import Crypto
import Foundation
import LatchkeyPKI
import X509

extension DataDirectory {
    /// `DATA_DIR/attestation/roots`: the installed attestation roots (SPEC §6).
    public var attestationRootsPath: String { "\(path)/attestation/roots" }
    /// `DATA_DIR/attestation/android-status.json`: Google's revocation list as the operator installed it.
    public var androidRevocationsPath: String { "\(path)/attestation/android-status.json" }
}

/// Reading and installing the attestation files of a data directory.
///
/// Guarantees: an installed root is one of the published roots (checked by fingerprint before it is copied); an
/// installed revocation list parsed as Google's format and replaced the old one atomically (rename), so a running
/// server never reads half a file; its modification time is the install time the maximum age counts from.
public enum AttestationFiles {
    /// Installs root certificates into `directory`, returning the file names written.
    public static func installRoots(_ files: [String], into directory: String) throws(AttestationError) -> [String] {
        var written: [String] = []
        var checked: [(Certificate, AttestationTrustAnchors.Kind)] = []
        for file in files {
            guard let certificates = PEMCertificates.read(file: file), certificates.count == 1 else {
                throw AttestationError(.invalid, check: "root", "\(file) is not one PEM certificate")
            }
            guard let kind = AttestationTrustAnchors.kind(of: certificates[0]) else {
                throw AttestationError(
                    .invalid, check: "root",
                    "\(file) is not Apple's App Attestation Root CA or a Google hardware attestation root (fingerprint)")
            }
            checked.append((certificates[0], kind))
        }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            for (certificate, kind) in checked {
                let der = DERBytes.of(certificate)
                let name = "\(kind.rawValue)-\(Hex.lowercase(Crypto.SHA256.hash(data: der)).prefix(16)).pem"
                try PEM.encode(der, label: "CERTIFICATE").write(
                    toFile: "\(directory)/\(name)", atomically: true, encoding: .utf8)
                written.append(name)
            }
        } catch {
            throw AttestationError(.unavailable, check: "root", "cannot write to \(directory)")
        }
        return written
    }

    /// Checks a revocation list and installs it at `path` (atomically); returns the number of entries.
    public static func installRevocations(_ file: String, at path: String) throws(AttestationError) -> Int {
        guard let data = FileManager.default.contents(atPath: file) else {
            throw AttestationError(.invalid, check: "revocation_list", "cannot read \(file)")
        }
        let list = try AndroidRevocationList(json: data, installedAt: Date())
        do {
            try FileManager.default.createDirectory(
                atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try data.write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw AttestationError(.unavailable, check: "revocation_list", "cannot write \(path)")
        }
        return list.entries.count
    }

    /// Reads the installed revocation list, dated by its modification time; nil if there is none.
    public static func readRevocations(at path: String) throws(AttestationError) -> AndroidRevocationList? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let modified = attributes[.modificationDate] as? Date
        else { return nil }
        guard let data = FileManager.default.contents(atPath: path) else { return nil }
        return try AndroidRevocationList(json: data, installedAt: modified)
    }

    /// Certificates of PEM files given on a command line (`--root` of `attest verify`, `--attestation-extra-root`).
    /// With `onePerFile`, a file holding more than one certificate is refused: a chain file given by mistake would
    /// otherwise make its leaf and intermediates trust anchors too.
    public static func certificates(files: [String], onePerFile: Bool = false) throws(AttestationError)
        -> [Certificate]
    {
        var result: [Certificate] = []
        for file in files {
            guard let certificates = PEMCertificates.read(file: file) else {
                throw AttestationError(.invalid, check: "root", "\(file) holds no PEM certificate")
            }
            if onePerFile && certificates.count != 1 {
                throw AttestationError(.invalid, check: "root", "\(file) must hold exactly one root certificate")
            }
            result += certificates
        }
        return result
    }
}

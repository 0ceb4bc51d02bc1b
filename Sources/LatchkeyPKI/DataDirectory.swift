import Foundation
import X509

/// The PKI files of a Latchkey data directory (SPEC §2): the CA, the server TLS identity and the backup key.
///
/// Guarantees: every key file is written 0600 and read only if its group and others have no access; nothing that
/// exists is ever overwritten by ``initializePKI(hostnames:now:)``.
public struct DataDirectory: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path.hasSuffix("/") && path.count > 1 ? String(path.dropLast()) : path
    }

    public var rootCertificatePath: String { "\(path)/ca/root.pem" }
    public var rootKeyPath: String { "\(path)/ca/root.key" }
    public var issuingCertificatePath: String { "\(path)/ca/issuing.pem" }
    public var issuingKeyPath: String { "\(path)/ca/issuing.key" }
    public var serverCertificatePath: String { "\(path)/tls/server.pem" }
    public var serverKeyPath: String { "\(path)/tls/server.key" }
    public var backupKeyPath: String { "\(path)/tls/backup.key" }
    public var clientConfigPath: String { "\(path)/client-config.json" }
    public var databasePath: String { "\(path)/latchkey.sqlite" }
    public var outboxPath: String { "\(path)/outbox.jsonl" }
    /// Checkpoints of the audit chain kept outside the database (see `latchkey audit checkpoint`).
    public var auditCheckpointsPath: String { "\(path)/audit-checkpoints.jsonl" }

    /// Whether a CA exists here (its root certificate or key is present).
    public var hasAuthority: Bool {
        FileManager.default.fileExists(atPath: rootCertificatePath)
            || FileManager.default.fileExists(atPath: rootKeyPath)
    }

    /// What ``initializePKI(hostnames:now:)`` created.
    public struct PKIMaterial: Sendable {
        public let authority: CertificateAuthority
        public let server: ServerIdentity
    }

    /// Creates the CA, the server key and certificate for `hostnames`, and the backup server key.
    /// Refuses with `ca_exists` if a CA is already here.
    public func initializePKI(
        hostnames: [String] = ServerCertificateIssuer.defaultHostnames, now: Date = Date()
    ) throws -> PKIMaterial {
        guard !hasAuthority else {
            throw PKIError(.caAlreadyExists, "a CA already exists in \(path)/ca; it was left unchanged")
        }
        let created = try CertificateAuthority.create(now: now)
        let serverKey = ServerCertificateIssuer.makeKey()
        let backupKey = ServerCertificateIssuer.makeKey()
        let serverCertificate = try ServerCertificateIssuer().issue(
            hostnames: hostnames, publicKey: serverKey.publicKey, authority: created.authority, now: now)
        try SecureFile.write(try created.rootKey.serializeAsPEM().pemString, to: rootKeyPath, mode: 0o600)
        try SecureFile.write(
            try created.authority.issuingKey.serializeAsPEM().pemString, to: issuingKeyPath, mode: 0o600)
        try SecureFile.write(
            try created.authority.issuing.serializeAsPEM().pemString, to: issuingCertificatePath, mode: 0o644)
        try SecureFile.write(try serverKey.serializeAsPEM().pemString, to: serverKeyPath, mode: 0o600)
        try SecureFile.write(try backupKey.serializeAsPEM().pemString, to: backupKeyPath, mode: 0o600)
        try SecureFile.write(try serverCertificate.serializeAsPEM().pemString, to: serverCertificatePath, mode: 0o644)
        // The root certificate is written last: its presence marks a complete CA.
        try SecureFile.write(
            try created.authority.root.serializeAsPEM().pemString, to: rootCertificatePath, mode: 0o644)
        return PKIMaterial(
            authority: created.authority,
            server: ServerIdentity(certificate: serverCertificate, key: serverKey, backupKey: backupKey))
    }

    /// Loads the CA (root and issuing certificates, issuing key). The root key is not read.
    public func loadAuthority() throws -> CertificateAuthority {
        guard FileManager.default.fileExists(atPath: rootCertificatePath) else {
            throw PKIError(.caMissing, "no CA in \(path) (run `latchkey ca init` or `latchkey serve` first)")
        }
        let root = try Self.certificate(at: rootCertificatePath)
        let issuing = try Self.certificate(at: issuingCertificatePath)
        let key = try Self.privateKey(at: issuingKeyPath)
        return try CertificateAuthority(root: root, issuing: issuing, issuingKey: key)
    }

    /// Loads the server certificate, its key and the backup key.
    /// The root key, or nil when it is not here (kept offline, as DEPLOYMENT.md advises); a key file that others
    /// can read is refused as for every key.
    public func loadRootKey() throws -> Certificate.PrivateKey? {
        guard FileManager.default.fileExists(atPath: rootKeyPath) else { return nil }
        return try Self.privateKey(at: rootKeyPath)
    }

    public func loadServerIdentity() throws -> ServerIdentity {
        let certificate = try Self.certificate(at: serverCertificatePath)
        let key = try Self.privateKey(at: serverKeyPath)
        guard key.publicKey == certificate.publicKey else {
            throw PKIError(.caInvalid, "\(serverKeyPath) does not match \(serverCertificatePath)")
        }
        let backup = try Self.privateKey(at: backupKeyPath)
        return ServerIdentity(certificate: certificate, key: key, backupKey: backup)
    }

    static func certificate(at path: String) throws -> Certificate {
        let pem = try SecureFile.readPublic(path)
        do {
            return try Certificate(pemEncoded: pem)
        } catch {
            throw PKIError(.caInvalid, "\(path) is not a PEM certificate")
        }
    }

    static func privateKey(at path: String) throws -> Certificate.PrivateKey {
        let pem = try SecureFile.readPrivate(path)
        do {
            return try Certificate.PrivateKey(pemEncoded: pem)
        } catch {
            throw PKIError(.caInvalid, "\(path) is not a PEM private key")
        }
    }
}

/// The server's TLS identity: its certificate and key, and the backup key whose pin clients also carry.
public struct ServerIdentity: Sendable {
    public let certificate: Certificate
    public let key: Certificate.PrivateKey
    public let backupKey: Certificate.PrivateKey

    /// The pins clients should carry: current key first, then backup.
    public var pins: [SPKIPin] {
        [SPKIPin(publicKey: key.publicKey), SPKIPin(publicKey: backupKey.publicKey)]
    }
}

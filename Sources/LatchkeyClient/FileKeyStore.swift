import Crypto
import Foundation
import LatchkeyPKI

/// A device key in a file (`device.key`, PEM, mode 0600) for Linux and the CLI.
///
/// Guarantees: key files are created 0600 and atomically; a key file that its group or others can access is refused
/// with a clear error, never used.
public struct FileKeyStore: DeviceKeyStore {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    var keyPath: String { directory + "/device.key" }
    var pendingPath: String { directory + "/device.key.pending" }

    public func currentKey() throws -> DeviceKey {
        if !FileManager.default.fileExists(atPath: keyPath) {
            try SecureFile.write(P256.Signing.PrivateKey().pemRepresentation, to: keyPath, mode: 0o600)
        }
        return DeviceKey(try load(keyPath))
    }

    public func makePendingKey() throws -> DeviceKey {
        let key = P256.Signing.PrivateKey()
        try SecureFile.write(key.pemRepresentation, to: pendingPath, mode: 0o600, overwrite: true)
        return DeviceKey(key)
    }

    public func pendingKey() throws -> DeviceKey? {
        guard FileManager.default.fileExists(atPath: pendingPath) else { return nil }
        return DeviceKey(try load(pendingPath))
    }

    public func promotePendingKey() throws {
        _ = try load(pendingPath)
        guard rename(pendingPath, keyPath) == 0 else { throw ClientError.keyFile("cannot replace \(keyPath)") }
    }

    public func tlsPrivateKeyPEM() throws -> String {
        try load(keyPath).pemRepresentation
    }

    func load(_ path: String) throws -> P256.Signing.PrivateKey {
        let pem: String
        do {
            pem = try SecureFile.readPrivate(path)
        } catch let error as PKIError {
            throw ClientError.keyFile(error.message)
        }
        do {
            return try P256.Signing.PrivateKey(pemRepresentation: pem)
        } catch {
            throw ClientError.keyFile("\(path) is not a P-256 private key")
        }
    }
}

#if canImport(Security) && canImport(CryptoKit) && !os(Linux)
    import CryptoKit
    import Foundation
    import Security
    import X509

    /// The device key in the Secure Enclave (when the device has one), its opaque handle in the Keychain.
    ///
    /// Only the storage lives here; CSRs, signatures, pinning and renewal are the shared, tested code of
    /// ``DeviceKey`` and ``LatchkeyClient``. This file cannot be built on Linux.
    public struct SecureEnclaveKeyStore: DeviceKeyStore {
        public let service: String

        public init(service: String = "latchkey.device-key") {
            self.service = service
        }

        public func currentKey() throws -> DeviceKey {
            if let data = try read(account: "current") { return try key(from: data) }
            let created = try SecureEnclave.P256.Signing.PrivateKey()
            try write(created.dataRepresentation, account: "current")
            return try key(from: created.dataRepresentation)
        }

        public func makePendingKey() throws -> DeviceKey {
            let created = try SecureEnclave.P256.Signing.PrivateKey()
            try write(created.dataRepresentation, account: "pending")
            return try key(from: created.dataRepresentation)
        }

        public func pendingKey() throws -> DeviceKey? {
            try read(account: "pending").map { try key(from: $0) }
        }

        public func promotePendingKey() throws {
            guard let pending = try read(account: "pending") else { throw ClientError.keyFile("no pending key") }
            try write(pending, account: "current")
            SecItemDelete(query(account: "pending") as CFDictionary)
        }

        /// Secure Enclave keys cannot be exported: the TLS identity must come from the Keychain (SecIdentity), which an
        /// app wires into its URLSession delegate; this store does not offer a PEM.
        public func tlsPrivateKeyPEM() throws -> String {
            throw ClientError.keyFile(
                "a Secure Enclave key cannot be exported as PEM; present it through a SecIdentity")
        }

        func key(from data: Data) throws -> DeviceKey {
            let key = try SecureEnclave.P256.Signing.PrivateKey(dataRepresentation: data)
            return DeviceKey(
                certificateKey: Certificate.PrivateKey(key),
                rawSigner: { try key.signature(for: $0).rawRepresentation })
        }

        func query(account: String) -> [String: Any] {
            [
                kSecClass as String: kSecClassGenericPassword, kSecAttrService as String: service,
                kSecAttrAccount as String: account,
            ]
        }

        func read(account: String) throws -> Data? {
            var q = query(account: account)
            q[kSecReturnData as String] = true
            var result: CFTypeRef?
            let status = SecItemCopyMatching(q as CFDictionary, &result)
            if status == errSecItemNotFound { return nil }
            guard status == errSecSuccess else { throw ClientError.keyFile("Keychain read failed (\(status))") }
            return result as? Data
        }

        func write(_ data: Data, account: String) throws {
            SecItemDelete(query(account: account) as CFDictionary)
            var q = query(account: account)
            q[kSecValueData as String] = data
            q[kSecAttrAccessible as String] = kSecAttrAccessibleWhenUnlockedThisDeviceOnly
            let status = SecItemAdd(q as CFDictionary, nil)
            guard status == errSecSuccess else { throw ClientError.keyFile("Keychain write failed (\(status))") }
        }
    }
#endif

import Foundation
import LatchkeyClient
import LatchkeyPKI
import LatchkeyTestSupport
import Testing
import X509

@Suite struct BackupPinTests {
    /// The server switches to its backup key (a new certificate for it); an enrolled client, unchanged, still
    /// connects, because its pin set carries the backup pin.
    @Test func aServerSwitchedToTheBackupKeyIsAcceptedWithoutAClientUpdate() async throws {
        let first = try ServerProcess(arguments: ["--demo"])
        let enrollPort = String(first.enrollURL.split(separator: ":").last!)
        let apiPort = String(first.apiURL.split(separator: ":").last!)
        let directory = DataDirectory(path: first.dataDirectory)
        let client = try await LatchkeyClient.enroll(
            directory: try Shell.temporaryDirectory("backup-client"), enrollURL: first.enrollURL, pins: first.pins,
            username: "alice", password: first.demoPassword, deviceName: "phone"
        ) { _ in try first.latestCode() }
        #expect(try await client.call("GET", "/v1/me").status == 200)
        await client.close()
        first.stop()

        // Rotate: the backup key becomes the current key, with a new certificate; the old key becomes the backup.
        let identity = try directory.loadServerIdentity()
        let authority = try directory.loadAuthority()
        let rotated = try ServerCertificateIssuer().issue(
            hostnames: ["localhost", "127.0.0.1"], publicKey: identity.backupKey.publicKey, authority: authority)
        try SecureFile.write(
            try identity.backupKey.serializeAsPEM().pemString, to: directory.serverKeyPath, mode: 0o600, overwrite: true
        )
        try SecureFile.write(
            try identity.key.serializeAsPEM().pemString, to: directory.backupKeyPath, mode: 0o600, overwrite: true)
        try SecureFile.write(
            try rotated.serializeAsPEM().pemString, to: directory.serverCertificatePath, mode: 0o644, overwrite: true)

        let second = try ServerProcess(
            dataDirectory: first.dataDirectory, arguments: ["--enroll-port", enrollPort, "--api-port", apiPort])
        defer { second.stop() }
        #expect(second.pins == [first.pins[1], first.pins[0]])
        let response = try await client.call("GET", "/v1/me")
        #expect(response.status == 200)
        await client.close()
    }
}

import Foundation
import LatchkeyClient
import LatchkeyPKI
import LatchkeyProtocol
import LatchkeyTestSupport
import Testing
import X509

#if canImport(Glibc)
    import Glibc
#endif

/// The client SDK and `latchkey client` against a real server on 127.0.0.1.
@Suite struct ClientTests {
    static let server: ServerProcess = try! ServerProcess(arguments: ["--demo"])
    var server: ServerProcess { Self.server }

    func enrollWithSDK(_ directory: String? = nil) async throws -> LatchkeyClient {
        let user = try TestUser.add(server)
        let server = self.server
        return try await LatchkeyClient.enroll(
            directory: try directory ?? Shell.temporaryDirectory("device"), enrollURL: server.enrollURL,
            pins: server.pins,
            username: user.username, password: user.password, deviceName: "sdk-test"
        ) { started in
            #expect(started.destinationHint.hasSuffix(String(user.phone.suffix(4))))
            return try server.code(to: user.phone)
        }
    }

    @Test func enrollAndCallThroughTheSDK() async throws {
        let client = try await enrollWithSDK()
        let me = try await client.call("GET", "/v1/me")
        #expect(me.status == 200)
        let status = try await client.status()
        #expect(String(decoding: me.body, as: UTF8.self).contains(status.deviceID))
        let accounts =
            try JSONSerialization.jsonObject(with: try await client.call("GET", "/v1/accounts").body)
            as? [[String: Any]]
        let from = try #require(accounts?.first?["id"] as? String)
        let body = Data(
            "{\"from\":\"\(from)\",\"to\":\"DE89370400440532013000\",\"amount\":\"2.50\",\"currency\":\"EUR\"}".utf8)
        let transfer = try await client.call("POST", "/v1/transfers", body: body)
        #expect(transfer.status == 201, "\(String(decoding: transfer.body, as: UTF8.self))")
        let unsigned = try await client.call("POST", "/v1/transfers", body: body, sign: false)
        #expect(unsigned.status == 401)
        await client.close()
    }

    @Test func enrollAndCallThroughTheCLI() throws {
        let user = try TestUser.add(server)
        let device = try server.enrollWithCLI(user)
        #expect(SecureFileModeOf(device + "/device.key") == 0o600)
        let call = try Shell.run([Shell.latchkeyBinary, "client", "call", "--device-dir", device, "GET", "/v1/me"])
        #expect(call.status == 0)
        #expect(call.stderr.contains("HTTP 200"))
        #expect(call.stdout.contains(user.username))
        let status = try Shell.run([Shell.latchkeyBinary, "client", "status", "--device-dir", device])
        #expect(status.stdout.contains("user      \(user.username)"))
        #expect(status.stdout.contains(server.pins[0]))
        let missing = try Shell.run([
            Shell.latchkeyBinary, "client", "call", "--device-dir", device, "GET", "/v1/nothing",
        ])
        #expect(missing.status == 1)
        #expect(missing.stderr.contains("HTTP 404"))
    }

    @Test func aKeyFileReadableByOthersIsRefused() async throws {
        let client = try await enrollWithSDK()
        chmod(client.directory + "/device.key", 0o644)
        let result = try Shell.run([Shell.latchkeyBinary, "client", "call", "--device-dir", client.directory, "/v1/me"])
        #expect(result.status == 1)
        #expect(result.stderr.contains("chmod 600"))
        await #expect(throws: ClientError.self) { _ = try await client.call("GET", "/v1/me") }
    }

    @Test func renewalReplacesKeyAndCertificateAndTheOldOneIsRefused() async throws {
        let client = try await enrollWithSDK()
        let before = try await client.status()
        let oldKey = try String(contentsOfFile: client.directory + "/device.key", encoding: .utf8)
        let oldCertificate = try String(contentsOfFile: client.directory + "/device.pem", encoding: .utf8)
        #expect(try await client.renewIfNeeded() == false)
        try await client.renew()
        let after = try await client.status()
        #expect(after.deviceID == before.deviceID)
        #expect(after.serial != before.serial)
        #expect(try String(contentsOfFile: client.directory + "/device.key", encoding: .utf8) != oldKey)
        #expect(try await client.call("GET", "/v1/me").status == 200)
        let directory = try Shell.temporaryDirectory("old")
        try oldKey.write(toFile: directory + "/k.pem", atomically: true, encoding: .utf8)
        try oldCertificate.write(toFile: directory + "/c.pem", atomically: true, encoding: .utf8)
        let old = try Curl.request(
            "GET", server.apiURL + "/v1/me", caFile: server.rootCertificatePath, certificate: directory + "/c.pem",
            key: directory + "/k.pem")
        #expect(old.errorCode == "certificate_revoked")
        // Within the last third of the lifetime, renewIfNeeded renews.
        #expect(try await client.renewIfNeeded(now: Date().addingTimeInterval(6 * 86_400)) == true)
        await client.close()
    }

    /// A renewal interrupted after the server issued the new certificate (and revoked the old one) but before the
    /// new key was promoted: the next start finishes it, and the device keeps working.
    @Test func aRenewalInterruptedBeforeTheKeyWasPromotedIsFinishedAtTheNextStart() async throws {
        let directory = try Shell.temporaryDirectory("interrupted")
        let client = try await enrollWithSDK(directory)
        let store = FileKeyStore(directory: directory)
        let pending = try store.makePendingKey()
        let response = try await client.call(
            "POST", "/v1/certificates/renew",
            body: try JSONEncoder().encode(RenewRequest(csr: try pending.makeCSR(deviceName: "phone"))), sign: false)
        #expect(response.status == 201)
        let issued = try JSONDecoder().decode(CertificateResponse.self, from: response.body)
        try issued.certificate.write(toFile: directory + "/device.pem.pending", atomically: true, encoding: .utf8)
        await client.close()
        // "Crash" here: the pending key was never promoted. A new process opens the directory.
        let reopened = try LatchkeyClient(directory: directory)
        let me = try await reopened.call("GET", "/v1/me")
        #expect(me.status == 200, "\(String(decoding: me.body, as: UTF8.self))")
        #expect(!FileManager.default.fileExists(atPath: directory + "/device.key.pending"))
    }

    @Test func aPinSetNeedsTwoPins() {
        #expect(throws: ClientError.self) { _ = try PinSet(host: "h", pins: [server.pins[0]]) }
        #expect(throws: ClientError.self) { _ = try PinSet(host: "h", pins: ["sha256/short", "x"]) }
    }
}

func SecureFileModeOf(_ path: String) -> mode_t? {
    var info = stat()
    guard stat(path, &info) == 0 else { return nil }
    return info.st_mode & 0o777
}

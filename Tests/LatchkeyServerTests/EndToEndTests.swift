import Foundation
import LatchkeyPKI
import LatchkeyTestSupport
import Testing

/// The server over real sockets on 127.0.0.1, driven by outside clients: openssl, curl and the latchkey CLI.
@Suite struct EndToEndTests {
    let server = sharedServer

    @Test func fullFlowWithOpenSSLAndCurl() throws {
        let user = try TestUser.add(server)
        let device = try OutsideDevice.enroll(server, user: user)
        let me = try device.call(server, "GET", "/v1/me")
        #expect(me.status == 200)
        #expect(me.json?["username"] as? String == user.username)
        #expect(me.json?["device_id"] as? String == device.deviceID)
        #expect(me.json?["certificate_serial"] as? String == device.serial)
        let accounts = try device.call(server, "GET", "/v1/accounts")
        let list = try #require(try JSONSerialization.jsonObject(with: Data(accounts.body.utf8)) as? [[String: Any]])
        #expect(list.count == 2)
        #expect(list.allSatisfy { $0["balance"] as? String == "1000.00" && $0["currency"] as? String == "EUR" })
        let devices = try device.call(server, "GET", "/v1/devices")
        #expect(devices.body.contains(device.deviceID))
        #expect(devices.body.contains("\"current\":true"))
        // The user was told over the same channel that a device was added.
        let outbox = try String(contentsOfFile: server.outboxPath, encoding: .utf8)
        #expect(outbox.split(separator: "\n").contains { $0.contains(user.phone) && $0.contains("device_added") })
    }

    @Test func theAPIRefusesAConnectionWithoutAClientCertificate() throws {
        let response = try Curl.request("GET", server.apiURL + "/v1/me", caFile: server.rootCertificatePath)
        #expect(response.exitStatus != 0)
        #expect(response.status == 0)
    }

    @Test func theAPIRefusesACertificateFromAnotherCA() throws {
        let directory = try Shell.temporaryDirectory("rogue")
        try OpenSSL.run([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            directory + "/k.pem",
            "-out", directory + "/c.pem", "-subj", "/CN=rogue", "-days", "1", "-addext", "extendedKeyUsage=clientAuth",
        ])
        let response = try Curl.request(
            "GET", server.apiURL + "/v1/me", caFile: server.rootCertificatePath, certificate: directory + "/c.pem",
            key: directory + "/k.pem")
        #expect(response.exitStatus != 0 || response.status == 401)
        #expect(response.status != 200)
    }

    @Test func anExpiredCertificateIsRefused() throws {
        let user = try TestUser.add(server)
        let device = try OutsideDevice.enroll(server, user: user)
        #expect(try device.call(server, "GET", "/v1/me").status == 200)
        // The same key, device and user, signed by the server's own issuing CA, but valid only two days ago.
        let me = try #require(try device.call(server, "GET", "/v1/me").json)
        let authority = try DataDirectory(path: server.dataDirectory).loadAuthority()
        let csr = try OpenSSL.run(["req", "-new", "-key", device.keyPath, "-subj", "/CN=x"]).stdout
        let expired = try IssuancePolicy(lifetime: 3600).issue(
            publicKey: try CSRIntake.accept(pem: csr).publicKey, deviceID: device.deviceID,
            userID: try #require(me["user_id"] as? String), authority: authority,
            now: Date().addingTimeInterval(-2 * 86_400))
        let path = device.directory + "/expired.pem"
        try expired.serializeAsPEM().pemString.write(toFile: path, atomically: true, encoding: .utf8)
        let response = try Curl.request(
            "GET", server.apiURL + "/v1/me", caFile: server.rootCertificatePath, certificate: path, key: device.keyPath)
        // Refused in the handshake (BoringSSL checks validity) or, if it got through, with certificate_expired.
        #expect(response.exitStatus != 0 || response.errorCode == "certificate_expired")
        #expect(response.status != 200)
    }

    @Test func aDeviceRevokedWithTheCLIIsRefusedOnTheNextRequest() throws {
        let user = try TestUser.add(server)
        let device = try OutsideDevice.enroll(server, user: user)
        #expect(try device.call(server, "GET", "/v1/me").status == 200)
        let revoked = try server.latchkey(["device", "revoke", device.deviceID, "--reason", "lost phone"])
        #expect(revoked.status == 0, "\(revoked.stderr)")
        let after = try device.call(server, "GET", "/v1/me")
        #expect(after.status == 401)
        #expect(after.errorCode == "device_revoked")
        let list = try server.latchkey(["device", "list", "--user", user.username])
        #expect(list.stdout.contains("\(device.deviceID)\t\(user.username)\tphone\trevoked"))
    }

    @Test func renewalGivesANewCertificateAndTheOldOneStopsWorking() throws {
        let user = try TestUser.add(server)
        let device = try OutsideDevice.enroll(server, user: user)
        let (csr, newKey) = try OutsideDevice.makeCSR(in: device.directory)
        let renewed = try device.call(server, "POST", "/v1/certificates/renew", json: ["csr": csr])
        #expect(renewed.status == 201)
        #expect(renewed.json?["device_id"] as? String == device.deviceID)
        let newCertificate = device.directory + "/renewed.pem"
        try (renewed.json?["certificate"] as? String ?? "").write(
            toFile: newCertificate, atomically: true, encoding: .utf8)
        let old = try device.call(server, "GET", "/v1/me")
        #expect(old.status == 401)
        #expect(old.errorCode == "certificate_revoked")
        let fresh = try Curl.request(
            "GET", server.apiURL + "/v1/me", caFile: server.rootCertificatePath, certificate: newCertificate,
            key: newKey)
        #expect(fresh.status == 200)
        #expect(fresh.json?["device_id"] as? String == device.deviceID)
    }

    @Test func malformedRequestsGet400And413NeverA500() throws {
        let url = server.enrollURL + "/v1/enrollments"
        let ca = server.rootCertificatePath
        let cases: [(String, Int, String)] = [
            ("{not json", 400, "bad_request"),
            ("[1,2]", 400, "bad_request"),
            ("{\"username\": 5, \"password\": \"x\"}", 400, "bad_request"),
            ("{\"username\": \"a\", \"password\": \"x\", \"admin\": true}", 400, "bad_request"),
            ("{\"username\": \"a\"}", 400, "bad_request"),
            ("", 400, "bad_request"),
        ]
        for (body, status, code) in cases {
            let response = try Curl.request("POST", url, rawBody: body, caFile: ca)
            #expect(response.status == status, "\(body)")
            #expect(response.errorCode == code, "\(body)")
            #expect(response.json?["message"] is String)
        }
        let big = "{\"username\": \"" + String(repeating: "a", count: 1_100_000) + "\", \"password\": \"x\"}"
        let tooLarge = try Curl.request("POST", url, rawBody: big, caFile: ca)
        #expect(tooLarge.status == 413)
        #expect(tooLarge.errorCode == "body_too_large")
        let unknown = try Curl.request("GET", server.enrollURL + "/v1/nothing", caFile: ca)
        #expect(unknown.status == 404)
        #expect(unknown.errorCode == "not_found")
    }
}

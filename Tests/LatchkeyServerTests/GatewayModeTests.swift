import Foundation
import LatchkeyTestSupport
import Testing

/// Gateway mode (SPEC §7, issue 18): nginx terminates mutual TLS and passes the client certificate on; the API
/// checks it exactly as a TLS peer certificate, believes the header only from the gateway, and still requires
/// request signatures.
@Suite struct GatewayModeTests {
    @Test(.enabled(if: NginxStream.isAvailable || TestDatabases.isCI, "needs nginx"))
    func anEnrolledDeviceGetsThroughTheGatewayAndNothingElseDoes() throws {
        let server = try ServerProcess(arguments: [
            "--api-behind-gateway", "--trusted-gateway", "127.0.0.1/32", "--client-cert-header", "X-SSL-Client-Cert",
        ])
        defer { server.stop() }
        #expect(server.apiURL.hasPrefix("http://"))
        let gateway = try NginxGateway(server: server)
        defer { gateway.stop() }
        let device = try OutsideDevice.enroll(server, user: try TestUser.add(server))

        let me = try device.call(gateway, "GET", "/v1/me")
        #expect(me.status == 200 && me.json?["device_id"] as? String == device.deviceID, "\(me.status) \(me.body)")

        // Straight to the listener: a forged header from an address that is not the gateway, or no header at all.
        let pem = try String(contentsOfFile: device.certificatePath, encoding: .utf8)
        let escaped = pem.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
        let forged = try Curl.request(
            "GET", server.apiURL + "/v1/me", caFile: server.rootCertificatePath,
            extraArguments: ["--interface", "127.0.0.2", "-H", "X-SSL-Client-Cert: \(escaped)"])
        #expect(forged.status == 401 && forged.errorCode == "certificate_unknown", "\(forged.status) \(forged.body)")
        // The same header from the trusted address is believed: it is the address, not the header, that is refused.
        let trusted = try Curl.request(
            "GET", server.apiURL + "/v1/me", caFile: server.rootCertificatePath,
            extraArguments: ["--interface", "127.0.0.1", "-H", "X-SSL-Client-Cert: \(escaped)"])
        #expect(trusted.status == 200, "\(trusted.status) \(trusted.body)")
        // The header twice, even from the trusted address, is refused rather than resolved.
        let twice = try Curl.request(
            "GET", server.apiURL + "/v1/me", caFile: server.rootCertificatePath,
            extraArguments: [
                "--interface", "127.0.0.1", "-H", "X-SSL-Client-Cert: \(escaped)", "-H", "X-SSL-Client-Cert: \(escaped)",
            ])
        #expect(twice.status == 401 && twice.errorCode == "certificate_unknown", "\(twice.status) \(twice.body)")
        let bare = try Curl.request("GET", server.apiURL + "/v1/me", caFile: server.rootCertificatePath)
        #expect(bare.status == 401 && bare.errorCode == "certificate_unknown")
        // A certificate of another CA is refused by the gateway itself; one the gateway passes on is still checked.
        let junk = try Curl.request(
            "GET", server.apiURL + "/v1/me", caFile: server.rootCertificatePath,
            extraArguments: ["-H", "X-SSL-Client-Cert: -----BEGIN%20CERTIFICATE-----%0AAAAA%0A-----END%20CERTIFICATE-----"])
        #expect(junk.errorCode == "certificate_unknown")

        // Signatures are still required, and work end to end through the gateway.
        let accounts =
            try JSONSerialization.jsonObject(with: Data(try device.call(gateway, "GET", "/v1/accounts").body.utf8))
            as? [[String: Any]] ?? []
        let from = try #require(accounts.first?["id"] as? String)
        let body = "{\"from\":\"\(from)\",\"to\":\"DE89370400440532013000\",\"amount\":\"1.00\",\"currency\":\"EUR\"}"
        let unsigned = try device.call(
            gateway, "POST", "/v1/transfers", json: try JSONSerialization.jsonObject(with: Data(body.utf8)))
        #expect(unsigned.errorCode == "signature_missing")
        let signed = try device.signedCall(gateway, "POST", "/v1/transfers", body: body)
        #expect(signed.status == 201, "\(signed.body)")

        // A device revoked by the operator is refused on its next request through the gateway.
        #expect(try server.latchkey(["device", "revoke", device.deviceID]).status == 0)
        let revoked = try device.call(gateway, "GET", "/v1/me")
        #expect(revoked.status == 401 && revoked.errorCode == "device_revoked", "\(revoked.body)")
    }

    @Test func gatewayOptionsAreCheckedTogether() throws {
        for arguments in [
            ["--api-behind-gateway"], ["--trusted-gateway", "127.0.0.1"],
            ["--api-behind-gateway", "--trusted-gateway", "not-an-address", "--client-cert-header", "X"],
        ] {
            let result = try Shell.run([Shell.latchkeyBinary, "serve", "--data-dir", "/nonexistent"] + arguments)
            #expect(result.status == 2, "\(arguments): \(result.stderr)")
        }
    }
}

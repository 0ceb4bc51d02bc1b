import Foundation
import LatchkeyTestSupport
import Testing

/// CRLs (SPEC §7, issue 18): `latchkey ca crl` and `GET /v1/crl`/`/v1/crl/root`, signed by the issuing CA and the
/// root, accepted by openssl and enforced by nginx `ssl_crl`.
@Suite struct CRLTests {
    func serialHex(_ certificate: String) throws -> String {
        try OpenSSL.run(["x509", "-in", certificate, "-noout", "-serial"]).stdout
            .replacingOccurrences(of: "serial=", with: "").trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(.enabled(if: NginxStream.isAvailable || TestDatabases.isCI, "needs nginx"))
    func aRevokedDeviceIsRefusedByNginxOnceTheCRLIsRenewed() throws {
        let server = try ServerProcess(arguments: [
            "--api-behind-gateway", "--trusted-gateway", "127.0.0.1/32", "--client-cert-header", "X-SSL-Client-Cert",
        ])
        defer { server.stop() }
        let kept = try OutsideDevice.enroll(server, user: try TestUser.add(server))
        let lost = try OutsideDevice.enroll(server, user: try TestUser.add(server))
        let scratch = try Shell.temporaryDirectory("crl")
        let crl = scratch + "/crl.pem"
        #expect(try server.latchkey(["ca", "crl", "--pem", "--chain", "--out", crl]).status == 0)
        let gateway = try NginxGateway(server: server, crl: crl)
        defer { gateway.stop() }
        #expect(try kept.call(gateway, "GET", "/v1/me").status == 200)
        #expect(try lost.call(gateway, "GET", "/v1/me").status == 200)

        #expect(try server.latchkey(["device", "revoke", lost.deviceID]).status == 0)
        // The server's own CRL already lists it: it is made from the store when asked for.
        let served = scratch + "/served.crl"
        let fetched = try Shell.run([
            "curl", "-sS", "--cacert", server.rootCertificatePath, "-o", served, server.enrollURL + "/v1/crl",
        ])
        #expect(fetched.status == 0)
        let servedText = try OpenSSL.run(["crl", "-inform", "DER", "-in", served, "-noout", "-text"]).stdout
        #expect(servedText.contains(try serialHex(lost.certificatePath)), "\(servedText)")
        #expect(!servedText.contains(try serialHex(kept.certificatePath)))

        // nginx refuses the revoked device once its CRL file is renewed and reloaded; the other still gets through.
        #expect(try server.latchkey(["ca", "crl", "--pem", "--chain", "--out", crl]).status == 0)
        gateway.reload()
        var refused: Curl.Response?
        for _ in 0..<50 {
            let answer = try lost.call(gateway, "GET", "/v1/me")
            if answer.status == 400 && answer.errorCode == nil {
                refused = answer
                break
            }
            Thread.sleep(forTimeInterval: 0.1)
        }
        #expect(refused != nil, "nginx still let the revoked device through")
        #expect(try kept.call(gateway, "GET", "/v1/me").status == 200)

        // openssl accepts both CRLs against their issuers.
        let issuingCA = server.dataDirectory + "/ca/issuing.pem"
        let chain = scratch + "/chain.pem"
        try (try String(contentsOfFile: issuingCA, encoding: .utf8) + "\n"
            + String(contentsOfFile: server.rootCertificatePath, encoding: .utf8))
            .write(toFile: chain, atomically: true, encoding: .utf8)
        let verified = try OpenSSL.run(["crl", "-inform", "DER", "-in", served, "-CAfile", chain, "-noout"])
        #expect(verified.stderr.contains("verify OK") || verified.stdout.contains("verify OK"), "\(verified.stderr)")
        let root = scratch + "/root.crl"
        #expect(
            try Shell.run([
                "curl", "-sS", "--cacert", server.rootCertificatePath, "-o", root, server.enrollURL + "/v1/crl/root",
            ]).status == 0)
        let rootVerified = try OpenSSL.run([
            "crl", "-inform", "DER", "-in", root, "-CAfile", server.rootCertificatePath, "-noout",
        ])
        #expect(rootVerified.stderr.contains("verify OK") || rootVerified.stdout.contains("verify OK"))
    }
}

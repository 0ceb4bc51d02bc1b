import Foundation
import LatchkeyTestSupport
import Testing

@Suite struct TLSAuditTests {
    /// sslyze against both listeners (with a device certificate for the API listener): only TLS 1.2/1.3, only AEAD
    /// suites with forward secrecy, no compression, secure renegotiation and no client-initiated renegotiation.
    /// Needs a Python with sslyze in `LATCHKEY_SSLYZE_PYTHON` (`.ci/run` makes one); locally it is skipped with a
    /// notice, in CI its absence fails.
    @Test(
        .enabled(if: pythonToolRuns("LATCHKEY_SSLYZE_PYTHON"), "needs sslyze in LATCHKEY_SSLYZE_PYTHON (.ci/run makes one)"))
    func bothListenersPassTheTLSAudit() throws {
        guard let python = pythonTool("LATCHKEY_SSLYZE_PYTHON", for: "the sslyze TLS audit") else { return }
        let server = sharedServer
        let device = try OutsideDevice.enroll(server, user: try TestUser.add(server))
        let script = fixtures + "/tls_audit.py"
        let scratch = try Shell.temporaryDirectory("sslyze")
        let enrollment = try Shell.run([
            python, script, String(server.enrollURL.dropFirst("https://".count)), scratch + "/enroll.json",
        ])
        #expect(enrollment.status == 0, "\(enrollment.stdout)\(enrollment.stderr)")
        let api = try Shell.run([
            python, script, String(server.apiURL.dropFirst("https://".count)), scratch + "/api.json", "--cert",
            device.certificatePath, "--key", device.keyPath,
        ])
        #expect(api.status == 0, "\(api.stdout)\(api.stderr)")
        #expect(api.stdout.contains("TLS_AES_128_GCM_SHA256"))
        // Without a client certificate the API listener cannot even be scanned: the handshake is refused.
        let anonymous = try Shell.run([
            python, script, String(server.apiURL.dropFirst("https://".count)), scratch + "/anon.json",
        ])
        #expect(anonymous.status != 0)
    }
}

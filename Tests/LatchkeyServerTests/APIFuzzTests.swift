import Foundation
import LatchkeyTestSupport
import Testing

@Suite struct APIFuzzTests {
    /// Test cases per operation and phase: 25 in the normal suite, more for a long run (scripts/security-long.sh).
    static var maxExamples: String { ProcessInfo.processInfo.environment["LATCHKEY_SCHEMATHESIS_MAX_EXAMPLES"] ?? "25" }

    /// schemathesis generates requests from docs/openapi.yaml against both listeners (a device certificate for the
    /// API listener; signed requests signed with the device key; `complete` aimed at a real pending enrollment): no
    /// 5xx, and every status, content type, header and body is one the document describes. Needs a Python with
    /// schemathesis in `LATCHKEY_SCHEMATHESIS_PYTHON` (`.ci/run` makes one); locally it is skipped with a notice, in
    /// CI its absence fails.
    @Test(
        .enabled(
            if: pythonToolRuns("LATCHKEY_SCHEMATHESIS_PYTHON"),
            "needs schemathesis in LATCHKEY_SCHEMATHESIS_PYTHON (.ci/run makes one)"))
    func bothListenersAnswerAsTheOpenAPIDocumentSays() throws {
        guard let python = pythonTool("LATCHKEY_SCHEMATHESIS_PYTHON", for: "schemathesis API fuzzing") else { return }
        // A server of its own: the fuzzer trips the enrollment limits and locks the pending enrollment on purpose.
        let server = try ServerProcess(arguments: [])
        defer { server.stop() }
        let device = try OutsideDevice.enroll(server, user: try TestUser.add(server))
        let other = try TestUser.add(server)
        let started = try OutsideDevice.start(server, username: other.username, password: other.password)
        try #require(started.status == 201, "start: \(started.status) \(started.body)")
        let pending = try #require(started.json?["enrollment_id"] as? String)
        let schema = URL(fileURLWithPath: fixtures).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/openapi.yaml").path
        let run = try Shell.run([
            python, fixtures + "/api_fuzz.py", schema, server.enrollURL, server.apiURL, server.rootCertificatePath,
            device.certificatePath, device.keyPath, device.deviceID, pending,
            try Shell.temporaryDirectory("schemathesis"), Self.maxExamples,
        ])
        #expect(run.status == 0, "\(run.stdout)\(run.stderr)")
        for line in run.stdout.split(separator: "\n") where line.contains(" generated, ") {
            print("schemathesis: \(line.trimmingCharacters(in: .whitespaces))")
        }
        // Both listeners were reached and every operation of the document was tested.
        #expect(run.stdout.contains("Tested: 6"), "\(run.stdout)")
        #expect(run.stdout.contains("Tested: 7"), "\(run.stdout)")
        // The calling device is still valid: the fuzzer's requests were refused or answered, none revoked it.
        #expect(try device.call(server, "GET", "/v1/me").status == 200)
    }
}

import Foundation
import LatchkeyTestSupport
import Testing

/// `serve --metrics-port` (SPEC §7): the Prometheus text format on a listener of its own, accepted by `promtool`,
/// counters that move with enrollments, refusals and revocations, and no series a client can add.
@Suite struct MetricsTests {
    static var promtool: String? {
        ["/usr/bin/promtool", "/usr/local/bin/promtool"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    func scrape(_ server: ServerProcess) throws -> String {
        let url = try #require(server.metricsURL)
        let result = try Shell.run(["curl", "-sS", "--max-time", "10", url])
        try #require(result.status == 0, "scrape: \(result.stderr)")
        return result.stdout
    }

    /// The value of the series whose line starts with `prefix` (name and labels as written), or nil.
    func value(_ text: String, _ prefix: String) -> Double? {
        text.split(separator: "\n").first { $0.hasPrefix(prefix + " ") }
            .flatMap { Double($0.split(separator: " ").last ?? "") }
    }

    @Test(.enabled(if: Self.promtool != nil || TestDatabases.isCI, "needs promtool (Debian's prometheus package)"))
    func theSeriesMoveAndPromtoolAcceptsThem() throws {
        let server = try ServerProcess(arguments: ["--metrics-port", "0"])
        defer { server.stop() }
        let device = try OutsideDevice.enroll(server, user: try TestUser.add(server))
        let wrong = try OutsideDevice.start(server, username: "nobody", password: "wrong-password")
        #expect(wrong.errorCode == "invalid_credentials")
        #expect(try device.signedCall(server, "DELETE", "/v1/devices/\(device.deviceID)").status == 204)
        #expect(try device.call(server, "GET", "/v1/me").errorCode == "device_revoked")
        // A connection without a client certificate fails its handshake on the API listener.
        #expect(try Curl.request("GET", server.apiURL + "/v1/me", caFile: server.rootCertificatePath).exitStatus != 0)

        let text = try scrape(server)
        #expect(value(text, "latchkey_enrollments_started_total") == 1, "\(text)")
        #expect(value(text, "latchkey_enrollments_completed_total{assurance=\"oob\"}") == 1)
        #expect(value(text, "latchkey_refusals_total{listener=\"enroll\",code=\"invalid_credentials\"}") == 1)
        #expect(value(text, "latchkey_refusals_total{listener=\"api\",code=\"device_revoked\"}") == 1)
        #expect(value(text, "latchkey_revocations_total") == 1)
        #expect(value(text, "latchkey_oob_deliveries_total{sink=\"outbox\",result=\"delivered\"}") ?? 0 >= 2)
        #expect(value(text, "latchkey_tls_handshake_failures_total{listener=\"api\"}") ?? 0 >= 1)
        #expect((value(text, "latchkey_issuing_ca_not_after_seconds") ?? 0) > Date().timeIntervalSince1970)
        #expect(text.contains("latchkey_request_duration_seconds_bucket{listener=\"api\",route=\"/v1/devices/{id}\""))
        #expect(text.contains("# HELP latchkey_requests_total") && text.contains("# TYPE latchkey_requests_total counter"))

        // A flood of requests to paths a client invents adds no series.
        let before = text.split(separator: "\n").filter { !$0.hasPrefix("#") }.count
        for index in 0..<40 {
            _ = try Curl.request(
                "GET", server.enrollURL + "/v1/x\(UUID().uuidString.prefix(8))-\(index)",
                caFile: server.rootCertificatePath)
        }
        let after = try scrape(server)
        let afterCount = after.split(separator: "\n").filter { !$0.hasPrefix("#") }.count
        #expect(afterCount - before <= 20, "the flood added \(afterCount - before) series")
        #expect(!after.contains("/v1/x"))

        if let promtool = Self.promtool {
            let checked = try Shell.run([promtool, "check", "metrics"], stdin: Data(after.utf8))
            #expect(checked.status == 0, "promtool: \(checked.stdout)\(checked.stderr)")
        } else {
            Issue.record("CI=true but promtool is missing: .ci/run installs Debian's prometheus package")
        }
    }
}

import Foundation
import LatchkeyTestSupport
import Testing

/// The benchmark harness cannot rot: each load mode and workload runs for one second against a real server. Nothing
/// here asserts a speed, only that operations completed without errors, and that a refused client is reported.
@Suite(.serialized) struct BenchSmokeTests {
    let server: ServerProcess
    let device: String

    init() throws {
        server = try ServerProcess(logLevel: "warning")
        device = try server.enrollWithCLI(try TestUser.add(server))
    }

    func load(_ arguments: [String], warmup: String = "0.2") throws -> (
        status: Int32, json: [String: Any], stderr: String
    ) {
        let result = try Shell.run(
            [
                Shell.benchBinary, "load", "--seconds", "1", "--warmup", warmup, "--connections", "2",
                "--json",
            ]
                + arguments)
        let line = result.stdout.split(separator: "\n").last.map(String.init) ?? ""
        let json = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any] ?? [:]
        return (result.status, json, result.stderr)
    }

    func expectClean(_ run: (status: Int32, json: [String: Any], stderr: String)) {
        #expect(run.status == 0, "\(run.stderr)")
        #expect((run.json["operations"] as? Int ?? 0) > 0, "\(run.json)")
        #expect(run.json["errors"] as? Int == 0, "\(run.json)")
        #expect((run.json["p99_ms"] as? Double ?? 0) >= (run.json["p50_ms"] as? Double ?? 1), "\(run.json)")
    }

    @Test func handshakeAndKeepAliveModesAgainstTheAPIListener() throws {
        for mode in ["handshake", "keepalive"] {
            expectClean(try load(["--url", server.apiURL, "--mode", mode, "--path", "/v1/me", "--device-dir", device]))
        }
    }

    @Test func signedTransfers() throws {
        expectClean(try load(["--url", server.apiURL, "--workload", "signed-transfer", "--device-dir", device]))
    }

    @Test func seededEnrollmentCompletions() throws {
        let seeded = try server.bench(["seed-enrollments", "--count", "40"])
        #expect(seeded.status == 0, "\(seeded.stderr)")
        let file = try Shell.temporaryDirectory("bench-smoke") + "/enrollments.txt"
        try seeded.stdout.write(toFile: file, atomically: true, encoding: .utf8)
        let run = try load(["--url", server.enrollURL, "--workload", "enroll", "--enrollments", file], warmup: "0")
        expectClean(run)
        let devices = try server.latchkey(["device", "list", "--user", "bench-enroller"])
        #expect(devices.stdout.split(separator: "\n").filter { $0.contains("bench-") }.count == 40, "\(devices.stdout)")
    }

    @Test func aRefusedClientIsReportedNotCounted() throws {
        let run = try load(["--url", server.apiURL, "--path", "/v1/me"])
        #expect(run.status != 0)
        #expect(run.stderr.contains("no operation completed"), "\(run.stderr)")
    }

    @Test func theHarnessScriptParses() throws {
        let result = try Shell.run(["python3", "-m", "py_compile", "Benchmarks/bench.py"])
        #expect(result.status == 0, "\(result.stderr)")
    }

    @Test func theStoreBenchmarkRunsAndRefusesATooSmallLargeFigure() throws {
        let run = try Shell.run([
            Shell.benchBinary, "store", "--seconds", "0.2", "--concurrency", "2", "--large-devices", "1100",
        ])
        #expect(run.status == 0, "\(run.stderr)")
        #expect(run.stdout.contains("| SQLite |"), "\(run.stdout)")
        let refused = try Shell.run([Shell.benchBinary, "store", "--large-devices", "1000"])
        #expect(refused.status == 2, "\(refused.stderr)")
        #expect(refused.stderr.contains("--large-devices must be more than 1000"), "\(refused.stderr)")
    }
}

import Foundation
import LatchkeyTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct LifecycleTests {
    @Test func firstRunCreatesTheDataDirectoryAndASecondRunReusesIt() throws {
        let server = try ServerProcess(arguments: ["--demo"])
        let directory = server.dataDirectory
        for file in [
            "ca/root.pem", "ca/root.key", "ca/issuing.pem", "ca/issuing.key", "tls/server.pem", "tls/server.key",
            "tls/backup.key", "client-config.json", "latchkey.sqlite", "demo-credentials.txt",
        ] {
            #expect(FileManager.default.fileExists(atPath: directory + "/" + file), "\(file)")
        }
        for key in [
            "ca/root.key", "ca/issuing.key", "tls/server.key", "tls/backup.key", "demo-credentials.txt",
            "latchkey.sqlite",
        ] {
            #expect(SecureFileMode.of(directory + "/" + key) == 0o600, "\(key)")
        }
        #expect(!server.startupOutput.contains(server.demoPassword))
        let config = try #require(
            try JSONSerialization.jsonObject(
                with: Data(contentsOf: URL(fileURLWithPath: directory + "/client-config.json")))
                as? [String: Any])
        #expect(config["enroll_url"] as? String == server.enrollURL)
        #expect(config["pins"] as? [String] == server.pins)
        #expect((config["ca_chain"] as? String)?.components(separatedBy: "BEGIN CERTIFICATE").count == 3)
        let user = try TestUser.add(server)
        let device = try OutsideDevice.enroll(server, user: user)
        let root = try String(contentsOfFile: directory + "/ca/root.pem", encoding: .utf8)
        #expect(server.stop() == 0)

        let again = try ServerProcess(dataDirectory: directory, arguments: ["--demo"])
        defer { again.stop() }
        #expect(try String(contentsOfFile: directory + "/ca/root.pem", encoding: .utf8) == root)
        #expect(again.pins == server.pins)
        #expect(try device.call(again, "GET", "/v1/me").status == 200)
    }

    @Test func aKeyFileReadableByOthersStopsTheStart() throws {
        let directory = try Shell.temporaryDirectory("perm") + "/data"
        let first = try ServerProcess(dataDirectory: directory)
        first.stop()
        chmod(directory + "/tls/server.key", 0o644)
        #expect(throws: ServerProcess.Failure.self) { _ = try ServerProcess(dataDirectory: directory) }
        let log = try String(contentsOfFile: directory + ".log", encoding: .utf8)
        _ = log
        let direct = try Shell.run([
            Shell.latchkeyBinary, "serve", "--data-dir", directory, "--enroll-port", "0", "--api-port", "0",
        ])
        #expect(direct.status == 1)
        #expect(direct.stderr.contains("chmod 600"))
    }

    @Test func sigtermStopsCleanlyAndSigintToo() throws {
        for signal in [SIGTERM, SIGINT] {
            let server = try ServerProcess()
            #expect(server.stop(signal: signal) == 0)
        }
    }
}

enum SecureFileMode {
    static func of(_ path: String) -> mode_t? {
        var info = stat()
        guard stat(path, &info) == 0 else { return nil }
        return info.st_mode & 0o777
    }
}

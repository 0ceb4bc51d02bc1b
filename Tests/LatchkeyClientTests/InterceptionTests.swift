import Foundation
import LatchkeyClient
import LatchkeyPKI
import LatchkeyTestSupport
import Testing
import X509

#if canImport(Glibc)
    import Glibc
#endif

/// A TLS-terminating interceptor (`openssl s_server`) in front of where the client connects: refused at the
/// handshake, with the pin error, and nothing is sent to it.
@Suite struct InterceptionTests {
    var server: ServerProcess { ClientTests.server }

    /// `openssl s_server` with a certificate and key, printing whatever application data reaches it.
    final class Interceptor {
        let port: Int
        let process: Process
        let output: String

        init(certificate: String, key: String, chain: String? = nil) throws {
            let probe = try Shell.run([
                "python3", "-c", "import socket;s=socket.socket();s.bind(('127.0.0.1',0));print(s.getsockname()[1])",
            ])
            port = Int(probe.stdout.trimmingCharacters(in: .whitespacesAndNewlines))!
            output = try Shell.temporaryDirectory("interceptor") + "/received.txt"
            FileManager.default.createFile(atPath: output, contents: nil)
            process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [
                "openssl", "s_server", "-accept", "127.0.0.1:\(port)", "-cert", certificate, "-key", key, "-quiet",
            ] + (chain.map { ["-cert_chain", $0] } ?? [])
            process.standardOutput = FileHandle(forWritingAtPath: output)
            process.standardError = FileHandle.nullDevice
            process.standardInput = Pipe()
            try process.run()
            ChildProcesses.register(process.processIdentifier)
            for _ in 0..<50 {
                if try Shell.run(["bash", "-c", "echo > /dev/tcp/127.0.0.1/\(port)"]).status == 0 { break }
                Thread.sleep(forTimeInterval: 0.1)
            }
        }

        var received: String { (try? String(contentsOfFile: output, encoding: .utf8)) ?? "" }

        deinit {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    func selfSignedInterceptor(appending chain: String? = nil) throws -> Interceptor {
        let directory = try Shell.temporaryDirectory("mitm")
        try OpenSSL.run([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            directory + "/k.pem",
            "-out", directory + "/c.pem", "-subj", "/CN=127.0.0.1", "-days", "2", "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        return try Interceptor(certificate: directory + "/c.pem", key: directory + "/k.pem", chain: chain)
    }

    /// The real server's certificate, public to anyone who connects to it.
    var realServerCertificate: String { server.dataDirectory + "/tls/server.pem" }

    /// An interceptor whose certificate chains to the CA the client trusts (the server's own), with another key.
    func sameCAInterceptor(appendingRealCertificate: Bool = false) throws -> Interceptor {
        let directory = try Shell.temporaryDirectory("mitm-ca")
        let authority = try DataDirectory(path: server.dataDirectory).loadAuthority()
        let key = ServerCertificateIssuer.makeKey()
        let certificate = try ServerCertificateIssuer().issue(
            hostnames: ["localhost", "127.0.0.1"], publicKey: key.publicKey, authority: authority)
        try certificate.serializeAsPEM().pemString.write(toFile: directory + "/c.pem", atomically: true, encoding: .utf8)
        var chain = try authority.issuing.serializeAsPEM().pemString + "\n"
        if appendingRealCertificate { chain += try String(contentsOfFile: realServerCertificate, encoding: .utf8) }
        try chain.write(toFile: directory + "/chain.pem", atomically: true, encoding: .utf8)
        try key.serializeAsPEM().pemString.write(toFile: directory + "/k.pem", atomically: true, encoding: .utf8)
        return try Interceptor(certificate: directory + "/c.pem", key: directory + "/k.pem", chain: directory + "/chain.pem")
    }

    func enrollThrough(_ interceptor: Interceptor, caChain: String?, pinsExpire: Date? = nil) async -> ClientError? {
        do {
            _ = try await LatchkeyClient.enroll(
                directory: try Shell.temporaryDirectory("victim"), enrollURL: "https://127.0.0.1:\(interceptor.port)",
                pins: server.pins, pinsExpire: pinsExpire, caChain: caChain, username: "alice",
                password: server.demoPassword, deviceName: "victim"
            ) { _ in "00000000" }
            return nil
        } catch let error as ClientError {
            return error
        } catch {
            return .invalid("\(error)")
        }
    }

    var caChain: String {
        (try? String(contentsOfFile: server.dataDirectory + "/ca/issuing.pem", encoding: .utf8)).map {
            $0 + ((try? String(contentsOfFile: server.rootCertificatePath, encoding: .utf8)) ?? "")
        } ?? ""
    }

    @Test func anInterceptorWithItsOwnCertificateGetsAPinErrorAndNothingElse() async throws {
        let interceptor = try selfSignedInterceptor()
        for chain in [nil, caChain] {
            let error = await enrollThrough(interceptor, caChain: chain)
            guard case .pinMismatch(let host, let expected, let seen) = error else {
                Issue.record("expected a pin mismatch, got \(String(describing: error))")
                continue
            }
            #expect(host == "127.0.0.1")
            #expect(expected == server.pins)
            #expect(seen.count == 1 && !server.pins.contains(seen[0]))
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(!interceptor.received.contains("POST"))
        #expect(!interceptor.received.contains("GET"))
        #expect(!interceptor.received.contains(server.demoPassword))
    }

    @Test func anInterceptorWithACertificateFromTheTrustedCAButNoPinIsRefused() async throws {
        let interceptor = try sameCAInterceptor()
        let error = await enrollThrough(interceptor, caChain: caChain)
        guard case .pinMismatch = error else {
            Issue.record("expected a pin mismatch, got \(String(describing: error))")
            return
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(!interceptor.received.contains("POST"))
    }

    @Test func theCLIPrintsOneLineNamingHostExpectedAndSeenPins() throws {
        let interceptor = try selfSignedInterceptor()
        let victim = try Shell.temporaryDirectory("cli-victim")
        let result = try Shell.run(
            [
                Shell.latchkeyBinary, "client", "enroll", "--device-dir", victim,
                "--server", "https://127.0.0.1:\(interceptor.port)", "--pin", server.pins[0], "--pin", server.pins[1],
                "--username", "alice", "--password-stdin", "--code", "00000000",
            ], stdin: Data("secret-password\n".utf8))
        #expect(result.status == 1)
        let lines = result.stderr.split(separator: "\n")
        #expect(lines.count == 1)
        #expect(result.stderr.contains("127.0.0.1"))
        #expect(result.stderr.contains(server.pins[0]) && result.stderr.contains(server.pins[1]))
        #expect(result.stderr.contains("saw sha256/"))
        #expect(!interceptor.received.contains("secret-password"))
        // A failed enrollment leaves no key of its own behind.
        #expect(!FileManager.default.fileExists(atPath: victim + "/device.key"))
    }

    /// A call without an enrolled device says which directory it looked in; help shows each default once.
    @Test func theCLINamesTheDeviceDirectoryItLookedIn() throws {
        let missing = try Shell.temporaryDirectory("no-device") + "/nothing-here"
        let result = try Shell.run([Shell.latchkeyBinary, "client", "call", "GET", "/v1/me", "--device-dir", missing])
        #expect(result.status == 1)
        #expect(result.stderr.contains(missing), "\(result.stderr)")
        let help = try Shell.run([Shell.latchkeyBinary, "client", "enroll", "--help"]).stdout
        #expect(help.components(separatedBy: "./latchkey-device").count == 2, "\(help)")
        #expect(help.contains("The account to enroll this device for"))
    }

    /// OkHttp's CVE-2016-2402 class: the interceptor sends its own leaf and then the real server certificate, which
    /// anyone can fetch. On first contact only the leaf that signed the handshake may match a pin.
    @Test func anInterceptorAppendingTheRealCertificateIsRefusedOnFirstContact() async throws {
        let interceptor = try selfSignedInterceptor(appending: realServerCertificate)
        let error = await enrollThrough(interceptor, caChain: nil)
        guard case .pinMismatch(_, _, let seen) = error else {
            Issue.record("expected a pin mismatch, got \(String(describing: error))")
            return
        }
        #expect(seen.count == 1 && !server.pins.contains(seen[0]))
        try await Task.sleep(for: .milliseconds(300))
        #expect(!interceptor.received.contains("HTTP/1.1"), "a request reached the interceptor: \(interceptor.received)")
    }

    /// With the CA known (`--config` mode): a leaf from the trusted issuing CA plus the appended real certificate.
    /// The pins are checked against the path the verifier built, which does not use the appended certificate.
    @Test func anInterceptorAppendingTheRealCertificateIsRefusedWithTheCAKnown() async throws {
        let interceptor = try sameCAInterceptor(appendingRealCertificate: true)
        let error = await enrollThrough(interceptor, caChain: caChain)
        guard case .pinMismatch = error else {
            Issue.record("expected a pin mismatch, got \(String(describing: error))")
            return
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(!interceptor.received.contains("HTTP/1.1"), "a request reached the interceptor: \(interceptor.received)")
    }

    /// The CLI's first-contact enrollment (`client enroll --server --pin`) through the same interceptor: refused
    /// before the password is sent.
    @Test func theCLIFirstContactRefusesAnInterceptorAppendingTheRealCertificate() throws {
        let interceptor = try selfSignedInterceptor(appending: realServerCertificate)
        let result = try Shell.run(
            [
                Shell.latchkeyBinary, "client", "enroll", "--device-dir", try Shell.temporaryDirectory("cli-victim"),
                "--server", "https://127.0.0.1:\(interceptor.port)", "--pin", server.pins[0], "--pin", server.pins[1],
                "--username", "alice", "--password-stdin", "--code", "00000000",
            ], stdin: Data("secret-password\n".utf8))
        #expect(result.status == 1)
        #expect(result.stderr.contains("saw sha256/"), "\(result.stderr)")
        Thread.sleep(forTimeInterval: 0.3)
        #expect(!interceptor.received.contains("HTTP/1.1") && !interceptor.received.contains("secret-password"))
    }

    /// The SDK's one-shot transports that `latchkey demo` uses: the first-contact request and the mutual-TLS probe
    /// with the CA known.
    @Test func theDemoTransportsRefuseInterceptorsAppendingTheRealCertificate() async throws {
        let firstContact = try selfSignedInterceptor(appending: realServerCertificate)
        do {
            _ = try await LatchkeyClient.enrollmentRequest(
                url: "https://127.0.0.1:\(firstContact.port)", pins: server.pins, method: "GET", target: "/v1/ca",
                body: nil)
            Issue.record("the first-contact transport accepted the interceptor")
        } catch let error as ClientError {
            guard case .pinMismatch = error else { throw error }
        }
        let withCA = try sameCAInterceptor(appendingRealCertificate: true)
        let device = try Shell.temporaryDirectory("probe")
        try OpenSSL.run([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout",
            device + "/k.pem", "-out", device + "/c.pem", "-subj", "/CN=probe", "-days", "1",
        ])
        do {
            _ = try await LatchkeyClient.probe(
                url: "https://127.0.0.1:\(withCA.port)", pins: server.pins, caChain: caChain,
                certificatePEM: try String(contentsOfFile: device + "/c.pem", encoding: .utf8),
                keyPEM: try String(contentsOfFile: device + "/k.pem", encoding: .utf8), method: "GET", target: "/v1/me")
            Issue.record("the probe transport accepted the interceptor")
        } catch let error as ClientError {
            guard case .pinMismatch = error else { throw error }
        }
        try await Task.sleep(for: .milliseconds(300))
        #expect(!firstContact.received.contains("HTTP/1.1") && !withCA.received.contains("HTTP/1.1"))
    }

    @Test func anExpiredPinSetIsRefusedEvenByTheRealServer() async throws {
        do {
            _ = try await LatchkeyClient.enroll(
                directory: try Shell.temporaryDirectory("expired-pins"), enrollURL: server.enrollURL, pins: server.pins,
                pinsExpire: Date().addingTimeInterval(-60), caChain: caChain, username: "alice",
                password: server.demoPassword, deviceName: "x"
            ) { _ in "00000000" }
            Issue.record("an expired pin set was accepted")
        } catch let error as ClientError {
            #expect(error == .pinSetExpired(host: "127.0.0.1"))
        }
    }
}

import ArgumentParser
import Crypto
import Foundation
import LatchkeyCommandLine
import LatchkeyClient
import LatchkeyPKI
import LatchkeyServer
import LatchkeyStore
import NIOCore
import NIOHTTP1
import NIOSSL

/// `latchkey-bench load`: the load generator with client certificates, for Latchkey and for its peers alike.
struct BenchLoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "HTTP/1.1 load with an optional client certificate: requests per second, p50 and p99 latency.",
        discussion: """
            Workloads: `static` repeats one request (--method, --path, --body-file); `enroll` completes the \
            enrollments listed in --enrollments (from `latchkey-bench seed-enrollments`), one per operation; \
            `signed-transfer` sends GET /v1/nonce then a signed POST /v1/transfers with the device in --device-dir, \
            one operation per pair. Mode `handshake` opens a new connection (a full TLS handshake, no resumption) \
            for every operation; `keepalive` reuses one connection per slot.
            """
    )

    @Option(help: "https://HOST:PORT or http://HOST:PORT.") var url: String
    @Option(help: "handshake or keepalive.") var mode: String = "keepalive"
    @Option(help: "static, enroll or signed-transfer.") var workload: String = "static"
    @Option(help: "Concurrent connections.") var connections = 16
    @Option(help: "Event-loop threads of the generator.") var threads = 1
    @Option(help: "Seconds measured.") var seconds: Double = 5
    @Option(help: "Seconds run before measuring.") var warmup: Double = 1
    @Option(help: "Request method (static).") var method = "GET"
    @Option(help: "Request path (static).") var path = "/v1/me"
    @Option(name: .customLong("body-file"), help: "Request body (static), sent as application/json.")
    var bodyFile: String?
    @Option(help: "Client certificate (PEM).") var cert: String?
    @Option(help: "Client key (PEM).") var key: String?
    @Option(name: .customLong("ca"), help: "CA certificates that sign the server's certificate (PEM).")
    var caFile: String?
    @Option(name: .customLong("device-dir"), help: "An enrolled device: its certificate, key and chain.")
    var deviceDir: String?
    @Option(help: "Seeded enrollments, one `ID CODE` per line (enroll).") var enrollments: String?
    @Option(help: "Append the body of every successful operation to this file, one per line.") var record: String?
    @Option(
        name: .customLong("csr-keys"),
        help: """
            Append to this file the P-256 key of each CSR the enroll workload sends (one new key per enrollment: a \
            key belongs to one device), one line each: SPKI_SHA256_HEX BASE64_OF_PEM.
            """)
    var csrKeys: String?
    @Flag(help: "Print one JSON object instead of a line of text.") var json = false

    func run() async throws {
        guard let mode = LoadOptions.Mode(rawValue: mode) else {
            throw ValidationError("--mode must be handshake or keepalive")
        }
        guard connections > 0, threads > 0, seconds > 0, warmup >= 0 else {
            throw ValidationError("--connections, --threads and --seconds must be positive")
        }
        ResourceLimits.raiseOpenFileLimit()
        let target = try Self.target(url)
        let certPath = cert ?? deviceDir.map { $0 + "/device.pem" }
        let keyPath = key ?? deviceDir.map { $0 + "/device.key" }
        let caPath = caFile ?? deviceDir.map { $0 + "/chain.pem" }
        let tls = try target.tls ? Self.tlsContext(cert: certPath, key: keyPath, ca: caPath) : nil
        let script = try makeScript()
        var options = LoadOptions(
            host: target.host, port: target.port, tls: tls, connections: connections, threads: threads,
            seconds: seconds, warmupSeconds: warmup, mode: mode)
        if let record {
            let descriptor = open(record, O_WRONLY | O_APPEND | O_CREAT, 0o600)
            guard descriptor >= 0 else { throw CommandFailure("cannot open \(record)") }
            options.recordDescriptor = descriptor
        }
        defer { if let descriptor = options.recordDescriptor { close(descriptor) } }
        let result = try await LoadGenerator.run(options, script: script)
        let p50 = result.latencyMilliseconds(0.50)
        let p99 = result.latencyMilliseconds(0.99)
        if json {
            var object: [String: Any] = [
                "mode": mode.rawValue, "workload": workload, "connections": connections, "threads": threads,
                "seconds": seconds, "operations": result.operations, "errors": result.errors,
                "per_second": result.operationsPerSecond, "p50_ms": p50, "p99_ms": p99,
            ]
            if let first = result.firstError { object["first_error"] = first }
            let data = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: data, as: UTF8.self))
        } else {
            print(
                String(
                    format: "%@ %@: %.0f/s over %d connections, p50 %.2f ms, p99 %.2f ms, %d errors",
                    workload, mode.rawValue, result.operationsPerSecond, connections, p50, p99, result.errors))
            if let first = result.firstError { print("first error: \(first)") }
        }
        if result.operations == 0 {
            throw CommandFailure("no operation completed" + (result.firstError.map { ": \($0)" } ?? ""))
        }
    }

    func makeScript() throws -> @Sendable (Int) -> any LoadScript {
        switch workload {
        case "static":
            guard let method = HTTPMethod(rawValue: method.uppercased()) as HTTPMethod? else {
                throw ValidationError("unknown --method")
            }
            let body = try bodyFile.map { path -> [UInt8] in
                guard let data = FileManager.default.contents(atPath: path) else {
                    throw CommandFailure("cannot read \(path)")
                }
                return Array(data)
            }
            let request = LoadRequest(
                method: method, path: path, headers: body == nil ? [] : [("Content-Type", "application/json")],
                body: body ?? [])
            return { _ in RepeatScript(request) }
        case "enroll":
            guard let enrollments, let text = try? String(contentsOfFile: enrollments, encoding: .utf8) else {
                throw ValidationError("--workload enroll needs a readable --enrollments file")
            }
            let pairs = text.split(separator: "\n").compactMap { line -> (id: String, code: String)? in
                let fields = line.split(separator: " ")
                return fields.count == 2 ? (String(fields[0]), String(fields[1])) : nil
            }
            guard !pairs.isEmpty else { throw CommandFailure("no enrollments in \(enrollments)") }
            let keyLog: Int32? = try csrKeys.map { path in
                let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o600)
                guard descriptor >= 0 else { throw CommandFailure("cannot open \(path)") }
                return descriptor
            }
            let shares = connections
            let all = pairs
            return { slot in
                let share = all.indices.filter { $0 % shares == slot }.map { all[$0] }
                return EnrollmentCompletionScript(enrollments: share[...], keyLog: keyLog)
            }
        case "signed-transfer":
            guard let deviceDir else { throw ValidationError("--workload signed-transfer needs --device-dir") }
            let signer = try FileKeyStore(directory: deviceDir).currentKey()
            guard let deviceID = try DeviceState.load(from: deviceDir).deviceID else {
                throw CommandFailure("\(deviceDir) holds no enrolled device")
            }
            return { _ in SignedTransferScript(signer: signer, deviceID: deviceID) }
        default:
            throw ValidationError("--workload must be static, enroll or signed-transfer")
        }
    }

    static func target(_ url: String) throws -> (tls: Bool, host: String, port: Int) {
        guard let components = URLComponents(string: url), let scheme = components.scheme,
            scheme == "https" || scheme == "http", let host = components.host
        else { throw ValidationError("--url must be https://HOST:PORT or http://HOST:PORT") }
        return (scheme == "https", host, components.port ?? (scheme == "https" ? 443 : 80))
    }

    /// The generator's TLS: TLS 1.2 or 1.3, the server checked against `ca` without a host name (loopback), the
    /// client certificate presented when given. NIOSSL keeps no client session, so every connection is a full
    /// handshake.
    static func tlsContext(cert: String?, key: String?, ca: String?) throws -> NIOSSLContext {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        if let ca {
            configuration.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(ca))
            configuration.certificateVerification = .noHostnameVerification
        } else {
            configuration.certificateVerification = .none
        }
        if let cert, let key {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMFile(cert).map { .certificate($0) }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(file: key, format: .pem))
        }
        return try NIOSSLContext(configuration: configuration)
    }
}

/// `latchkey-bench seed-enrollments`: pending enrollments with known codes, for `bench load --workload enroll`.
struct BenchSeedEnrollmentsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-enrollments",
        abstract: "Write COUNT pending enrollments of the user bench-enroller into the store; print `ID CODE` lines.",
        discussion: "For benchmarks only: the codes are printed in clear. The enrollments expire after 10 minutes."
    )

    @OptionGroup var data: DataDirectoryOptions
    @Option(help: "How many enrollments.") var count = 1000

    func run() async throws {
        guard count > 0 else { throw ValidationError("--count must be positive") }
        let authority = try data.directory.loadAuthority()
        let seeded = try await withStore(data) { store in
            try await BenchmarkEnrollments.seed(count: count, store: store, authority: authority)
        }
        var text = ""
        for entry in seeded { text += "\(entry.enrollmentID) \(entry.code)\n" }
        FileHandle.standardOutput.write(Data(text.utf8))
    }
}

/// `latchkey-bench seed-devices`: synthetic devices in a store, to measure a server holding many.
struct BenchSeedDevicesCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "seed-devices",
        abstract: "Add COUNT synthetic active devices (with one certificate each) of the user bench-devices.",
        discussion: "For benchmarks only. The user is created if absent."
    )

    @OptionGroup var data: DataDirectoryOptions
    @Option(help: "How many devices.") var count = 1_000_000

    func run() async throws {
        guard count > 0 else { throw ValidationError("--count must be positive") }
        try await withStore(data) { store in
            let user: UserRecord
            if let existing = try await store.user(username: "bench-devices") {
                user = existing
            } else {
                user = UserRecord(
                    id: "usr-bench-devices", username: "bench-devices", passwordHash: "-", phone: "+15555550198",
                    email: nil, createdAt: Date())
                try await store.createUser(
                    user, accounts: [],
                    audit: AuditEntry(
                        time: Date(), actor: "bench", action: "user.created", subject: user.id, detailsJSON: "{}"))
            }
            try await store.seedSyntheticDevices(count: count, userID: user.id, prefix: "bench-")
        }
        print("seeded \(count) devices")
    }
}

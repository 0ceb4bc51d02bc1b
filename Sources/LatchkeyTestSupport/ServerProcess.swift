import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real `latchkey serve` process on free ports of 127.0.0.1, over a fresh (or given) data directory.
public final class ServerProcess: @unchecked Sendable {
    public let dataDirectory: String
    public let enrollURL: String
    public let apiURL: String
    public let pins: [String]
    public let logPath: String
    /// The `--database` the server was started with, if any (passed on to `latchkey(_:)` commands).
    public let database: String?
    private let process: Process

    public struct Failure: Error, CustomStringConvertible {
        public let description: String
        public init(description: String) { self.description = description }
    }

    /// Starts the server and returns once it printed `ready`; `arguments` are added to `serve`.
    public init(
        dataDirectory: String? = nil, arguments: [String] = [], environment: [String: String] = [:],
        logLevel: String = "info"
    ) throws {
        let directory = try dataDirectory ?? Shell.temporaryDirectory("latchkey-server") + "/data"
        self.dataDirectory = directory
        if let index = arguments.firstIndex(of: "--database"), index + 1 < arguments.count {
            self.database = arguments[index + 1]
        } else {
            self.database = nil
        }
        self.logPath = directory + ".log"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Shell.latchkeyBinary)
        process.arguments =
            [
                "serve", "--data-dir", directory, "--enroll-port", "0", "--api-port", "0", "--bcrypt-cost", "10",
                "--log-level", Self.logLevel(logLevel),
            ] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let output = Pipe()
        process.standardOutput = output
        FileManager.default.createFile(atPath: logPath, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: logPath)
        try process.run()
        ChildProcesses.register(process.processIdentifier)
        self.process = process
        var text = ""
        let deadline = Date().addingTimeInterval(60)
        while !Self.banner(text).contains("latchkey: ready\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty || Date() > deadline {
                process.terminate()
                let log = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
                throw Failure(description: "latchkey serve did not start: \(text) \(log)")
            }
            text += String(decoding: chunk, as: UTF8.self)
        }
        let raw = text
        text = Self.banner(text)
        func value(_ label: String) -> String {
            text.split(separator: "\n").first { $0.hasPrefix("latchkey: \(label) ") }
                .map { String($0.dropFirst("latchkey: \(label) ".count)).trimmingCharacters(in: .whitespaces) } ?? ""
        }
        self.enrollURL = value("enrollment")
        self.apiURL = value("api")
        self.pins = value("pins").split(separator: " ").map(String.init)
        let metrics = value("metrics")
        self.metricsURL = metrics.isEmpty ? nil : metrics
        self.startupOutput = raw
    }

    /// The start banner as text lines: with `--log-format json` each line is a JSON object whose `message` is the
    /// text line's content.
    static func banner(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
            guard line.hasPrefix("{"),
                let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let message = object["message"] as? String
            else { return String(line) }
            return "latchkey: " + message
        }.joined(separator: "\n")
    }

    /// `GET /metrics` of the server, when it was started with `--metrics-port`.
    public let metricsURL: String?

    /// What the server printed up to `ready`.
    public let startupOutput: String

    public var rootCertificatePath: String { dataDirectory + "/ca/root.pem" }
    public var outboxPath: String { dataDirectory + "/outbox.jsonl" }
    public var databaseURL: String { database ?? "sqlite:\(dataDirectory)/latchkey.sqlite" }

    /// The server log level for tests: `LATCHKEY_TEST_LOG_LEVEL` when it is more verbose than the one asked for.
    static func logLevel(_ requested: String) -> String {
        let order = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
        guard let forced = ProcessInfo.processInfo.environment["LATCHKEY_TEST_LOG_LEVEL"],
            let forcedRank = order.firstIndex(of: forced), let requestedRank = order.firstIndex(of: requested)
        else { return requested }
        return forcedRank < requestedRank ? forced : requested
    }

    /// The demo user's password (servers started with `--demo`).
    public var demoPassword: String {
        let text = (try? String(contentsOfFile: dataDirectory + "/demo-credentials.txt", encoding: .utf8)) ?? ""
        let password =
            text.split(separator: "\n").first { $0.hasPrefix("password=") }.map { String($0.dropFirst(9)) } ?? ""
        SecretLedger.record(password)
        return password
    }

    /// The newest one-time code in the outbox, whoever it was sent to.
    public func latestCode() throws -> String {
        try code(to: nil)
    }

    /// The newest one-time code the outbox holds for a phone number (any number when nil).
    public func code(to phone: String?) throws -> String {
        let lines = try String(contentsOfFile: outboxPath, encoding: .utf8).split(separator: "\n")
        for line in lines.reversed() {
            if let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                phone == nil || object["to"] as? String == phone, let code = object["code"] as? String
            {
                SecretLedger.record(code)
                return code
            }
        }
        throw Failure(description: "no code\(phone.map { " for \($0)" } ?? "") in the outbox")
    }

    /// Runs a `latchkey` command on this server's data directory.
    public func latchkey(_ arguments: [String], stdin: String? = nil) throws -> Shell.Result {
        try Shell.run(
            [Shell.latchkeyBinary] + arguments + ["--data-dir", dataDirectory]
                + (database.map { ["--database", $0] } ?? []),
            stdin: stdin.map { Data($0.utf8) })
    }

    /// Runs a `latchkey-bench` command on this server's data directory.
    public func bench(_ arguments: [String]) throws -> Shell.Result {
        try Shell.run(
            [Shell.benchBinary] + arguments + ["--data-dir", dataDirectory] + (database.map { ["--database", $0] } ?? []))
    }

    /// Sends SIGTERM and waits for the process to end; returns its exit status.
    @discardableResult
    public func stop(signal: Int32 = SIGTERM) -> Int32 {
        if process.isRunning {
            kill(process.processIdentifier, signal)
            process.waitUntilExit()
        }
        return process.terminationStatus
    }

    public var isRunning: Bool { process.isRunning }

    /// The server's process id (PostgreSQL shows it in the revocation listener's `application_name`).
    public var processIdentifier: Int32 { process.processIdentifier }

    deinit {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// Child processes started by tests, killed when the test process exits (a shared server outlives every test).
public enum ChildProcesses {
    nonisolated(unsafe) private static var pids: [pid_t] = []
    nonisolated(unsafe) private static var installed = false
    private static let lock = NSLock()

    public static func register(_ pid: pid_t) {
        lock.lock()
        defer { lock.unlock() }
        pids.append(pid)
        if !installed {
            installed = true
            atexit {
                for pid in ChildProcesses.pids { kill(pid, SIGKILL) }
            }
        }
    }
}

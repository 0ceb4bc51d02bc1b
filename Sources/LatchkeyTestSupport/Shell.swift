import Foundation

/// Runs outside programs (openssl, curl, the latchkey binary) from tests, the way a user would.
public enum Shell {
    public struct Result: Sendable {
        public let status: Int32
        public let stdout: String
        public let stderr: String
        public let stdoutData: Data
    }

    /// Runs `arguments` (looked up on PATH) with optional standard input; never throws on a non-zero status.
    @discardableResult
    public static func run(
        _ arguments: [String], stdin: Data? = nil, environment: [String: String]? = nil, directory: String? = nil
    ) throws -> Result {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let out = Pipe()
        let err = Pipe()
        let input = Pipe()
        process.standardOutput = out
        process.standardError = err
        process.standardInput = input
        try process.run()
        if let stdin { input.fileHandleForWriting.write(stdin) }
        try input.fileHandleForWriting.close()
        // Read both pipes concurrently so a chatty child cannot block on a full pipe.
        nonisolated(unsafe) var errData = Data()
        let errReader = Thread { errData = err.fileHandleForReading.readDataToEndOfFile() }
        errReader.start()
        let outData = out.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        while !errReader.isFinished { usleep(1000) }
        return Result(
            status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
            stderr: String(decoding: errData, as: UTF8.self), stdoutData: outData)
    }

    /// A new empty directory under the system temporary directory.
    /// Runs the commands at the same time, each on a thread of its own, and returns their results in order.
    public static func runConcurrently(_ commands: [[String]]) -> [Result] {
        let results = Box(Array(repeating: Result?.none, count: commands.count))
        let threads = commands.enumerated().map { index, command in
            Thread {
                let result = try? run(command)
                results.lock.lock()
                results.value[index] = result
                results.lock.unlock()
            }
        }
        threads.forEach { $0.start() }
        while threads.contains(where: { !$0.isFinished }) { usleep(2000) }
        return results.value.map { $0 ?? Result(status: -1, stdout: "", stderr: "could not start", stdoutData: Data()) }
    }

    private final class Box<Value>: @unchecked Sendable {
        var value: Value
        let lock = NSLock()
        init(_ value: Value) { self.value = value }
    }

    public static func temporaryDirectory(_ prefix: String = "latchkey-test") throws -> String {
        let path = NSTemporaryDirectory() + "/\(prefix)-\(UUID().uuidString.prefix(8))"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The built `latchkey` executable: `$LATCHKEY_BIN`, or the one beside the running test bundle.
    public static var latchkeyBinary: String {
        ProcessInfo.processInfo.environment["LATCHKEY_BIN"] ?? executable(named: "latchkey")
    }

    /// The benchmark tool (`latchkey-bench`), a separate executable from the product.
    public static var benchBinary: String {
        ProcessInfo.processInfo.environment["LATCHKEY_BENCH_BIN"] ?? executable(named: "latchkey-bench")
    }

    /// An executable product of this package, found beside the running test bundle.
    public static func executable(named name: String) -> String {
        var directory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
        for _ in 0..<4 {
            let candidate = directory.appendingPathComponent(name).path
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
            directory = directory.deletingLastPathComponent()
        }
        return name
    }
}

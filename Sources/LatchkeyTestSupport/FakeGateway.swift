import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The local HTTP stand-in for an SMS provider or webhook gateway (`Tests/Fixtures/fake_gateway.py`).
public final class FakeGateway: @unchecked Sendable {
    public let port: Int
    public let recordPath: String
    private let process: Process

    public struct Received: Sendable {
        public let path: String
        public let headers: [String: String]
        public let body: Data
        public let status: Int
    }

    /// Starts the gateway; it answers with `statuses` in order (the last repeats).
    public init(statuses: [Int] = [200], script: String) throws {
        recordPath = try Shell.temporaryDirectory("gateway") + "/requests.jsonl"
        FileManager.default.createFile(atPath: recordPath, contents: nil)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "python3", script, "--record", recordPath, "--statuses", statuses.map(String.init).joined(separator: ","),
        ]
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        ChildProcesses.register(process.processIdentifier)
        self.process = process
        var text = ""
        while !text.contains("\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            text += String(decoding: chunk, as: UTF8.self)
        }
        guard let port = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) else {
            process.terminate()
            throw ServerProcess.Failure(description: "the fake gateway did not start")
        }
        self.port = port
    }

    public var received: [Received] {
        let text = (try? String(contentsOfFile: recordPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            guard let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] else {
                return nil
            }
            return Received(
                path: object["path"] as? String ?? "", headers: object["headers"] as? [String: String] ?? [:],
                body: Data(base64Encoded: object["body"] as? String ?? "") ?? Data(),
                status: object["status"] as? Int ?? 0)
        }
    }

    /// SIGKILL: children of the test runner inherit a signal mask that blocks SIGTERM.
    deinit {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

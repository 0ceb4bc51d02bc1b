import Foundation

/// Every secret the tests use (passwords, one-time codes, private keys), appended to the file named by
/// `LATCHKEY_TEST_SECRETS_FILE` when it is set, so `scripts/check-logs-for-secrets.sh` can grep every server log of
/// the run for them afterwards.
public enum SecretLedger {
    private static let lock = NSLock()

    public static func record(_ secret: String) {
        guard let path = ProcessInfo.processInfo.environment["LATCHKEY_TEST_SECRETS_FILE"], !secret.isEmpty else {
            return
        }
        lock.lock()
        defer { lock.unlock() }
        let line = Data((secret.replacingOccurrences(of: "\n", with: " ") + "\n").utf8)
        if let handle = FileHandle(forWritingAtPath: path) {
            handle.seekToEndOfFile()
            handle.write(line)
            try? handle.close()
        } else {
            FileManager.default.createFile(atPath: path, contents: line, attributes: [.posixPermissions: 0o600])
        }
    }

    /// Records the base64 body lines of a PEM private key file.
    public static func recordKey(atPath path: String) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        for line in text.split(separator: "\n") where !line.hasPrefix("-----") && line.count >= 16 {
            record(String(line))
        }
    }

    /// The server log level for tests: `LATCHKEY_TEST_LOG_LEVEL` when it is more verbose than the one asked for.
    public static func logLevel(_ requested: String) -> String {
        let order = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
        guard let forced = ProcessInfo.processInfo.environment["LATCHKEY_TEST_LOG_LEVEL"],
            let forcedRank = order.firstIndex(of: forced), let requestedRank = order.firstIndex(of: requested)
        else { return requested }
        return forcedRank < requestedRank ? forced : requested
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Every secret the tests use (passwords, one-time codes, private keys), appended to the file named by
/// `LATCHKEY_TEST_SECRETS_FILE` when it is set, so `scripts/check-logs-for-secrets.sh` can grep every server log of
/// the run for them afterwards.
public enum SecretLedger {
    /// Appends one line with one `write` on an `O_APPEND` descriptor, so concurrent callers never interleave.
    public static func record(_ secret: String) {
        guard let path = ProcessInfo.processInfo.environment["LATCHKEY_TEST_SECRETS_FILE"], !secret.isEmpty else {
            return
        }
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let line = Array((secret.replacingOccurrences(of: "\n", with: " ") + "\n").utf8)
        _ = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }

    /// Records the base64 body lines of a PEM private key file.
    public static func recordKey(atPath path: String) {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
        for line in text.split(separator: "\n") where !line.hasPrefix("-----") && line.count >= 16 {
            record(String(line))
        }
    }
}

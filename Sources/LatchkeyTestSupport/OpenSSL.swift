import Foundation

/// Makes keys and CSRs with the `openssl` command, an implementation independent of Latchkey.
public enum OpenSSL {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs openssl and returns stdout; throws with stderr on failure.
    @discardableResult
    public static func run(_ arguments: [String], stdin: Data? = nil) throws -> Shell.Result {
        let result = try Shell.run(["openssl"] + arguments, stdin: stdin)
        guard result.status == 0 else {
            throw Failure(description: "openssl \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        }
        return result
    }

    /// A CSR and its key made by `openssl req -new -newkey ...`; returns the CSR PEM and writes the key to `keyPath`.
    public static func makeCSR(newkey: [String], keyPath: String, extra: [String] = []) throws -> String {
        try run(
            ["req", "-new"] + newkey + ["-nodes", "-keyout", keyPath, "-subj", "/CN=requested-by-client"] + extra
        )
        .stdout
    }

    /// The X509v3 extension headings of a certificate as `openssl x509 -text` prints them, with their values.
    public static func extensions(ofCertificateAt path: String) throws -> [String: String] {
        let text = try run(["x509", "-in", path, "-noout", "-text"]).stdout
        var result: [String: String] = [:]
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var index = 0
        while index < lines.count {
            let line = lines[index].trimmingCharacters(in: .whitespaces)
            if line.hasPrefix("X509v3 "), line.hasSuffix(":") || line.hasSuffix(": critical"),
                line != "X509v3 extensions:"
            {
                let value = index + 1 < lines.count ? lines[index + 1].trimmingCharacters(in: .whitespaces) : ""
                result[line] = value
            }
            index += 1
        }
        return result
    }
}

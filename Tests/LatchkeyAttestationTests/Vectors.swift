import Foundation
import LatchkeyTestSupport

/// The recorded attestations of `../shared/attestation-vectors` (never committed; see its README).
enum Vectors {
    /// `$LATCHKEY_ATTESTATION_VECTORS`, else `../shared/attestation-vectors` beside the repository, else the shared
    /// folder of the machine this project is developed on. Missing everywhere, the tests fail (nothing is skipped).
    static var directory: String {
        if let path = ProcessInfo.processInfo.environment["LATCHKEY_ATTESTATION_VECTORS"] { return path }
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        let beside = url.deletingLastPathComponent().appendingPathComponent("shared/attestation-vectors").path
        for candidate in [beside, "/work/shared/attestation-vectors"]
        where FileManager.default.fileExists(atPath: candidate + "/README.md") {
            return candidate
        }
        return beside
    }

    static func path(_ relative: String) -> String { "\(directory)/\(relative)" }

    /// One YAML document of the Apple recordings: top-level `key: value` pairs and `key: |` blocks.
    struct AppleDocument {
        let file: String
        let fields: [String: String]
        subscript(_ key: String) -> String { fields[key] ?? "" }
        var appID: String { self["teamIdentifier"] + "." + self["bundleIdentifier"] }
    }

    static func appleDocuments(type: String) throws -> [AppleDocument] {
        let files = try FileManager.default.contentsOfDirectory(atPath: path("apple")).filter { $0.hasSuffix(".yaml") }
        var documents: [AppleDocument] = []
        for file in files.sorted() {
            let text = try String(contentsOfFile: path("apple/\(file)"), encoding: .utf8)
            for document in text.components(separatedBy: "\n---") {
                let lines = document.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
                var fields: [String: String] = [:]
                var index = 0
                while index < lines.count {
                    let line = lines[index]
                    if line.hasSuffix(": |") {
                        var block: [String] = []
                        index += 1
                        while index < lines.count, lines[index].hasPrefix("  ") {
                            block.append(String(lines[index].dropFirst(2)))
                            index += 1
                        }
                        fields[String(line.dropLast(3))] = block.joined(separator: "\n") + "\n"
                        continue
                    }
                    if !line.hasPrefix(" "), let colon = line.range(of: ": ") {
                        var value = String(line[colon.upperBound...])
                        if value.hasPrefix("'") && value.hasSuffix("'") { value = String(value.dropFirst().dropLast()) }
                        fields[String(line[..<colon.lowerBound])] = value
                    }
                    index += 1
                }
                if fields["type"] == type { documents.append(AppleDocument(file: file, fields: fields)) }
            }
        }
        return documents
    }

    /// Google's roots as one PEM file (the vectors keep them as a JSON array).
    static func googleRootsPEM() throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: path("roots/google-roots.json")))
        let roots = try JSONSerialization.jsonObject(with: data) as? [String] ?? []
        let file = try Shell.temporaryDirectory("latchkey-roots") + "/google-roots.pem"
        try roots.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    static func write(_ text: String) throws -> String {
        let file = try Shell.temporaryDirectory("latchkey-vector") + "/input"
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    static func write(_ data: Data) throws -> String {
        let file = try Shell.temporaryDirectory("latchkey-vector") + "/input"
        try data.write(to: URL(fileURLWithPath: file))
        return file
    }
}

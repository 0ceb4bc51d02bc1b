import Foundation

/// HTTP requests made with the real `curl` command, as an outside client would.
public enum Curl {
    public struct Response: Sendable {
        /// curl's exit status: 0 when an HTTP answer arrived (whatever its status), non-zero for TLS or network failures.
        public let exitStatus: Int32
        public let status: Int
        public let body: String
        public let headers: [String: String]
        public let stderr: String

        public var json: [String: Any]? {
            try? JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any]
        }

        public var errorCode: String? { json?["error"] as? String }
    }

    /// Makes one request; `json` is sent as the body with `Content-Type: application/json`.
    public static func request(
        _ method: String, _ url: String, json: Any? = nil, rawBody: String? = nil, bodyData: Data? = nil, caFile: String,
        certificate: String? = nil, key: String? = nil, extraArguments: [String] = []
    ) throws -> Response {
        let directory = try Shell.temporaryDirectory("curl")
        var arguments = [
            "curl", "-sS", "--max-time", "30", "-X", method, "--cacert", caFile, "-D", directory + "/headers", "-o",
            directory + "/body", "-w", "%{http_code}",
        ]
        if let certificate, let key { arguments += ["--cert", certificate, "--key", key] }
        var stdin: Data?
        if let json {
            stdin = try JSONSerialization.data(withJSONObject: json)
        } else if let rawBody {
            stdin = Data(rawBody.utf8)
        } else if let bodyData {
            stdin = bodyData
        }
        if stdin != nil { arguments += ["-H", "Content-Type: application/json", "--data-binary", "@-"] }
        arguments += extraArguments + [url]
        let result = try Shell.run(arguments, stdin: stdin)
        let body = (try? String(contentsOfFile: directory + "/body", encoding: .utf8)) ?? ""
        var headers: [String: String] = [:]
        let headerText = (try? String(contentsOfFile: directory + "/headers", encoding: .utf8)) ?? ""
        for line in headerText.split(separator: "\r\n") {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        try? FileManager.default.removeItem(atPath: directory)
        return Response(
            exitStatus: result.status, status: Int(result.stdout.trimmingCharacters(in: .whitespaces)) ?? 0, body: body,
            headers: headers, stderr: result.stderr)
    }
}

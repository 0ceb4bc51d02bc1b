/// The endpoints that require an RFC 9421 signature (SPEC §5), listed in one place for server and client.
///
/// The server registers exactly these routes behind its signature check, so "signed" is a property of the matched
/// route; the client uses ``requiresSignature(method:path:)`` to sign them automatically.
public enum SignedEndpoints {
    /// One signed route: a method and a path template whose `{name}` segments match any one segment.
    public struct Route: Sendable, Equatable {
        public let method: String
        public let template: String

        /// The template in Hummingbird's form (`:name` segments).
        public var hummingbirdPath: String {
            "/" + segments(template).map { $0.hasPrefix("{") ? ":" + $0.dropFirst().dropLast() : $0 }.joined(separator: "/")
        }

        /// Whether `method` and `path` name this route, comparing segments as the router does (empty segments, from
        /// doubled or trailing slashes, are dropped; the query is ignored).
        public func matches(method: String, path: String) -> Bool {
            guard method.uppercased() == self.method else { return false }
            let wanted = segments(template)
            let pathOnly = path.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            let given = segments(String(pathOnly))
            guard wanted.count == given.count else { return false }
            return zip(wanted, given).allSatisfy { $0.hasPrefix("{") || $0 == $1 }
        }

        private func segments(_ path: String) -> [String] {
            path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        }
    }

    public static let transfer = Route(method: "POST", template: "/v1/transfers")
    public static let revokeDevice = Route(method: "DELETE", template: "/v1/devices/{id}")
    public static let all: [Route] = [transfer, revokeDevice]

    public static func requiresSignature(method: String, path: String) -> Bool {
        all.contains { $0.matches(method: method, path: path) }
    }
}

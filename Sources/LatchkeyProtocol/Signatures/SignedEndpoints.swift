/// The endpoints that require an RFC 9421 signature (SPEC §5), listed in one place for server and client.
public enum SignedEndpoints {
    public static func requiresSignature(method: String, path: String) -> Bool {
        let method = method.uppercased()
        if method == "POST" && path == "/v1/transfers" { return true }
        if method == "DELETE" && path.hasPrefix("/v1/devices/") { return true }
        return false
    }
}

import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A TCP proxy in front of both listeners of one server that sends a PROXY protocol header on every connection it
/// forwards: HAProxy with `send-proxy-v2`, or nginx `stream` with `proxy_protocol on` (v1), as docs/DEPLOYMENT.md
/// describes.
public final class ProxyProtocolFront: ServerEndpoints, @unchecked Sendable {
    public enum Kind: Sendable { case haproxy, nginx }

    public let enrollURL: String
    public let apiURL: String
    public let rootCertificatePath: String
    private let process: Process

    public static var haproxyBinary: String? {
        ["/usr/sbin/haproxy", "/usr/bin/haproxy"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    public init(_ kind: Kind, server: ServerProcess) throws {
        let prefix = try Shell.temporaryDirectory("proxy-front")
        let enrollPort = try FreePort.next()
        let apiPort = try FreePort.next()
        let enrollTarget = URLComponents(string: server.enrollURL)?.port ?? 0
        let apiTarget = URLComponents(string: server.apiURL)?.port ?? 0
        let binary: String
        let arguments: [String]
        switch kind {
        case .haproxy:
            guard let haproxy = Self.haproxyBinary else {
                throw ServerProcess.Failure(description: "haproxy is not installed")
            }
            binary = haproxy
            let configuration = """
                defaults
                    mode tcp
                    timeout connect 5s
                    timeout client 30s
                    timeout server 30s
                frontend enroll
                    bind 127.0.0.1:\(enrollPort)
                    default_backend enroll
                backend enroll
                    server latchkey 127.0.0.1:\(enrollTarget) send-proxy-v2
                frontend api
                    bind 127.0.0.1:\(apiPort)
                    default_backend api
                backend api
                    server latchkey 127.0.0.1:\(apiTarget) send-proxy-v2
                """
            try (configuration + "\n").write(toFile: prefix + "/haproxy.cfg", atomically: true, encoding: .utf8)
            arguments = ["-f", prefix + "/haproxy.cfg", "-db"]
        case .nginx:
            guard let nginx = NginxStream.binary else { throw ServerProcess.Failure(description: "nginx is not installed") }
            binary = nginx
            let module =
                FileManager.default.fileExists(atPath: NginxStream.streamModule)
                ? "load_module \(NginxStream.streamModule);\n" : ""
            let user = getuid() == 0 ? "user root;\n" : ""
            let configuration = """
                \(module)\(user)worker_processes 1;
                daemon off;
                pid \(prefix)/nginx.pid;
                error_log \(prefix)/error.log warn;
                events { worker_connections 1024; }
                stream {
                    server { listen 127.0.0.1:\(enrollPort); proxy_pass 127.0.0.1:\(enrollTarget); proxy_protocol on; }
                    server { listen 127.0.0.1:\(apiPort); proxy_pass 127.0.0.1:\(apiTarget); proxy_protocol on; }
                }
                """
            try configuration.write(toFile: prefix + "/nginx.conf", atomically: true, encoding: .utf8)
            arguments = ["-p", prefix, "-e", prefix + "/error.log", "-c", prefix + "/nginx.conf"]
        }
        process = try PeerProcess.launch(
            binary, arguments, name: "the proxy", log: prefix + "/stderr.log", ports: [enrollPort, apiPort])
        self.enrollURL = "https://127.0.0.1:\(enrollPort)"
        self.apiURL = "https://127.0.0.1:\(apiPort)"
        self.rootCertificatePath = server.rootCertificatePath
    }

    public func stop() { PeerProcess.stop(process) }

    deinit { stop() }
}

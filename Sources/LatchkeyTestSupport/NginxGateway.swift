import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// nginx terminating mutual TLS in front of an API listener in gateway mode (`serve --api-behind-gateway`): it
/// checks the client certificate against the Latchkey CA and passes it on in `X-SSL-Client-Cert`
/// (`$ssl_client_escaped_cert`), as docs/DEPLOYMENT.md describes.
public final class NginxGateway: ServerEndpoints, @unchecked Sendable {
    public let enrollURL: String
    public let apiURL: String
    public let rootCertificatePath: String
    private let process: Process

    /// Starts nginx for `server` (whose API listener must be in gateway mode) and returns once it listens.
    /// `crl`: a file of PEM CRLs for `ssl_crl` (the output of `latchkey ca crl --pem --chain`).
    public init(server: ServerProcess, header: String = "X-SSL-Client-Cert", crl: String? = nil) throws {
        guard let binary = NginxStream.binary else { throw ServerProcess.Failure(description: "nginx is not installed") }
        let prefix = try Shell.temporaryDirectory("nginx-gateway")
        let port = try FreePort.next()
        let data = server.dataDirectory
        let chain =
            try String(contentsOfFile: data + "/tls/server.pem", encoding: .utf8) + "\n"
            + String(contentsOfFile: data + "/ca/issuing.pem", encoding: .utf8)
        try chain.write(toFile: prefix + "/server-chain.pem", atomically: true, encoding: .utf8)
        let clientCAs =
            try String(contentsOfFile: data + "/ca/issuing.pem", encoding: .utf8) + "\n"
            + String(contentsOfFile: data + "/ca/root.pem", encoding: .utf8)
        try clientCAs.write(toFile: prefix + "/client-ca.pem", atomically: true, encoding: .utf8)
        let upstream = URLComponents(string: server.apiURL)?.port ?? 0
        let user = getuid() == 0 ? "user root;\n" : ""
        let configuration = """
            \(user)worker_processes 1;
            daemon off;
            pid \(prefix)/nginx.pid;
            error_log \(prefix)/error.log warn;
            events { worker_connections 1024; }
            http {
                access_log off;
                client_body_temp_path \(prefix)/body;
                proxy_temp_path \(prefix)/proxy;
                server {
                    listen 127.0.0.1:\(port) ssl;
                    ssl_certificate \(prefix)/server-chain.pem;
                    ssl_certificate_key \(data)/tls/server.key;
                    ssl_client_certificate \(prefix)/client-ca.pem;
                    ssl_verify_client on;
                    ssl_verify_depth 2;
                    \(crl.map { "ssl_crl \($0);" } ?? "")
                    location / {
                        proxy_pass http://127.0.0.1:\(upstream);
                        proxy_set_header \(header) $ssl_client_escaped_cert;
                    }
                }
            }
            """
        try configuration.write(toFile: prefix + "/nginx.conf", atomically: true, encoding: .utf8)
        process = try PeerProcess.launch(
            binary, ["-p", prefix, "-e", prefix + "/error.log", "-c", prefix + "/nginx.conf"], name: "nginx",
            log: prefix + "/stderr.log", ports: [port])
        self.enrollURL = server.enrollURL
        self.apiURL = "https://127.0.0.1:\(port)"
        self.rootCertificatePath = server.rootCertificatePath
    }

    /// Makes nginx read its configuration and files (the CRL) again (SIGHUP).
    public func reload() {
        if process.isRunning { kill(process.processIdentifier, SIGHUP) }
    }

    public func stop() { PeerProcess.stop(process) }

    deinit { stop() }
}

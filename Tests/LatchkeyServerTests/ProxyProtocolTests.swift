import Foundation
import LatchkeyTestSupport
import Testing

/// PROXY protocol on both listeners (SPEC §7, issue 18): behind HAProxy (`send-proxy-v2`) and nginx `stream`
/// (`proxy_protocol on`), the per-address limit counts the real client addresses; a listed proxy address without a
/// header is closed; a header from an unlisted address is not believed.
@Suite struct ProxyProtocolTests {
    func start(_ front: some ServerEndpoints, from address: String, attempt: Int) throws -> Curl.Response {
        try Curl.request(
            "POST", front.enrollURL + "/v1/enrollments",
            json: ["username": "nobody-\(address)-\(attempt)", "password": "wrong-password"],
            caFile: front.rootCertificatePath, extraArguments: ["--interface", address])
    }

    @Test(
        .enabled(
            if: (ProxyProtocolFront.haproxyBinary != nil && NginxStream.isAvailable) || TestDatabases.isCI,
            "needs haproxy and nginx"))
    func theRealClientAddressCountsBehindHAProxyAndNginx() throws {
        let server = try ServerProcess(arguments: [
            "--proxy-protocol-from", "127.0.0.1/32", "--enroll-limit-address", "2",
        ])
        defer { server.stop() }
        let device = try OutsideDevice.enroll(server, user: try TestUser.add(server), via: try ProxyProtocolFront(.haproxy, server: server))
        for (kind, addresses) in [(ProxyProtocolFront.Kind.haproxy, ["127.0.0.2", "127.0.0.3"]), (.nginx, ["127.0.0.4", "127.0.0.5"])] {
            let front = try ProxyProtocolFront(kind, server: server)
            defer { front.stop() }
            // Two starts are allowed per client address; the third from the same address is refused, while the
            // other address (through the same proxy) is counted on its own.
            let first = try (0..<3).map { try start(front, from: addresses[0], attempt: $0) }
            #expect(first.map(\.status) == [401, 401, 429], "\(kind): \(first.map(\.body))")
            #expect(try start(front, from: addresses[1], attempt: 0).status == 401, "\(kind)")
            // The API listener works through the proxy too.
            #expect(try device.call(front, "GET", "/v1/me").status == 200, "\(kind)")
        }
        // From the listed proxy address without a header: closed.
        let direct = try Curl.request(
            "GET", server.enrollURL + "/v1/health", caFile: server.rootCertificatePath,
            extraArguments: ["--interface", "127.0.0.1"])
        #expect(direct.exitStatus != 0 && direct.status == 0)
        // From an unlisted address a PROXY header is not believed: its bytes reach TLS and the handshake fails,
        // while the same address without a header is served as before.
        let port = try #require(URLComponents(string: server.enrollURL)?.port)
        let forged = """
            import socket, ssl, sys
            s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), source_address=("127.0.0.6", 0))
            s.sendall(b"PROXY TCP4 9.9.9.9 127.0.0.1 1234 443\\r\\n")
            ctx = ssl.create_default_context(cafile=sys.argv[2])
            try:
                ctx.wrap_socket(s, server_hostname="127.0.0.1").sendall(b"GET /v1/health HTTP/1.1\\r\\nHost: x\\r\\n\\r\\n")
                print("accepted")
            except (ssl.SSLError, OSError):
                print("refused")
            """
        let result = try Shell.run(["python3", "-c", forged, String(port), server.rootCertificatePath])
        #expect(result.stdout.contains("refused"), "\(result.stdout) \(result.stderr)")
        let plain = try Curl.request(
            "GET", server.enrollURL + "/v1/health", caFile: server.rootCertificatePath,
            extraArguments: ["--interface", "127.0.0.6"])
        #expect(plain.status == 200)
    }
}

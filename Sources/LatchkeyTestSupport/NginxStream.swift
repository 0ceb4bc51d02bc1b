import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The URLs a test talks to: a server, or a load balancer in front of several.
public protocol ServerEndpoints {
    var enrollURL: String { get }
    var apiURL: String { get }
    var rootCertificatePath: String { get }
}

extension ServerProcess: ServerEndpoints {}

/// nginx in TCP pass-through mode (`stream`) in front of several `latchkey serve` instances: TLS, and mutual TLS,
/// end at the instances, as docs/DEPLOYMENT.md describes.
public final class NginxStream: ServerEndpoints, @unchecked Sendable {
    public let enrollURL: String
    public let apiURL: String
    public let rootCertificatePath: String
    private let process: Process

    public static var binary: String? {
        ["/usr/sbin/nginx", "/usr/bin/nginx"].first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    static let streamModule = "/usr/lib/nginx/modules/ngx_stream_module.so"

    /// Whether nginx with its stream module is installed.
    public static var isAvailable: Bool { binary != nil }

    /// Starts nginx balancing round-robin over `servers` and returns once both ports accept connections.
    public init(servers: [ServerProcess]) throws {
        guard let binary = Self.binary else { throw ServerProcess.Failure(description: "nginx is not installed") }
        let prefix = try Shell.temporaryDirectory("nginx-stream")
        let enrollPort = try FreePort.next()
        let apiPort = try FreePort.next()
        func upstream(_ name: String, _ urls: [String]) -> String {
            let members = urls.compactMap { URLComponents(string: $0) }.map {
                "        server 127.0.0.1:\($0.port ?? 0);"
            }
            return "    upstream \(name) {\n" + members.joined(separator: "\n") + "\n    }\n"
        }
        let module =
            FileManager.default.fileExists(atPath: Self.streamModule) ? "load_module \(Self.streamModule);\n" : ""
        let user = getuid() == 0 ? "user root;\n" : ""
        let configuration = """
            \(module)\(user)worker_processes 1;
            daemon off;
            pid \(prefix)/nginx.pid;
            error_log \(prefix)/error.log warn;
            events { worker_connections 4096; }
            stream {
            \(upstream("latchkey_enroll", servers.map(\.enrollURL)))\(upstream("latchkey_api", servers.map(\.apiURL)))
                server { listen 127.0.0.1:\(enrollPort); proxy_pass latchkey_enroll; }
                server { listen 127.0.0.1:\(apiPort); proxy_pass latchkey_api; }
            }
            """
        try configuration.write(toFile: prefix + "/nginx.conf", atomically: true, encoding: .utf8)
        process = try PeerProcess.launch(
            binary, ["-p", prefix, "-e", prefix + "/error.log", "-c", prefix + "/nginx.conf"], name: "nginx",
            log: prefix + "/stderr.log", ports: [enrollPort, apiPort])
        self.enrollURL = "https://127.0.0.1:\(enrollPort)"
        self.apiURL = "https://127.0.0.1:\(apiPort)"
        self.rootCertificatePath = servers[0].rootCertificatePath
    }

    public func stop() { PeerProcess.stop(process) }

    deinit { stop() }
}

/// A peer program a test runs (nginx, HAProxy): started, and returned once it listens on every port.
enum PeerProcess {
    /// Starts `binary`; throws with the contents of `log` if it does not listen on all `ports` within 10 s.
    static func launch(_ binary: String, _ arguments: [String], name: String, log: String, ports: [Int]) throws
        -> Process
    {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        FileManager.default.createFile(atPath: log, contents: nil)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        ChildProcesses.register(process.processIdentifier)
        for port in ports where !FreePort.waitUntilListening(port: port, while: { process.isRunning }) {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            stop(process)
            throw ServerProcess.Failure(description: "\(name) did not start: \(text)")
        }
        return process
    }

    static func stop(_ process: Process) {
        if process.isRunning {
            kill(process.processIdentifier, SIGTERM)
            process.waitUntilExit()
        }
    }
}

/// Free TCP ports on 127.0.0.1, for servers a test starts.
public enum FreePort {
    public static func next() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw ServerProcess.Failure(description: "socket() failed") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { pointer -> Int32 in
                guard bind(fd, pointer, length) == 0 else { return -1 }
                return getsockname(fd, pointer, &length)
            }
        }
        guard bound == 0 else { throw ServerProcess.Failure(description: "bind() failed") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Polls until something accepts connections on `port` (for up to 10 s) while `alive` holds.
    public static func waitUntilListening(port: Int, while alive: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline && alive() {
            let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = UInt16(port).bigEndian
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
                }
            }
            close(fd)
            if connected == 0 { return true }
            usleep(50_000)
        }
        return false
    }
}

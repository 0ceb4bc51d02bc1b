import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import LatchkeyAttestation
import LatchkeyPKI
import LatchkeyProtocol
import LatchkeyStore
import Logging
import NIOCore
import NIOSSL
import ServiceLifecycle
import X509

#if canImport(Glibc)
    import Glibc
#endif

/// `latchkey serve`: the enrollment listener (TLS) and the API listener (mutual TLS) over one data directory.
///
/// Guarantees: the first run creates the data directory (SPEC §2); later runs reuse it; key files readable by others
/// stop the start; SIGINT/SIGTERM stop both listeners gracefully (in-flight requests finish), flush `last_seen_at`
/// and close the store.
public struct LatchkeyServer {
    public struct Options: Sendable {
        public var dataDirectory: DataDirectory
        public var database: DatabaseURL?
        public var settings = ServerSettings()
        public var oob = "outbox"
        public var demo = false
        /// `--attestation-extra-root` files: roots trusted besides the installed published ones.
        public var attestationExtraRoots: [String] = []

        public init(dataDirectory: DataDirectory) {
            self.dataDirectory = dataDirectory
        }
    }

    let options: Options
    let logger: Logger

    public init(options: Options, logger: Logger) {
        self.options = options
        self.logger = logger
    }

    /// Runs until SIGINT or SIGTERM. `announce` receives the lines to print once both listeners accept connections.
    ///
    /// Prepares the data directory (CA, server identity, ports, store, sink), builds both listeners from one
    /// ``ServerDependencies`` value (``buildEnrollmentApplication(_:transport:onServerRunning:)``,
    /// ``buildAPIApplication(_:transport:certificates:onServerRunning:)``) and runs them in one service group.
    public func run(announce: @escaping @Sendable (String) -> Void) async throws {
        let directory = options.dataDirectory
        var settings = options.settings
        try FileManager.default.createDirectory(
            atPath: directory.path, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if !directory.hasAuthority {
            _ = try directory.initializePKI(hostnames: settings.certificateHostnames)
        }
        let authority = try directory.loadAuthority()
        let server = try directory.loadServerIdentity()
        if settings.enrollPort == 0 { settings.enrollPort = try FreePort.find(host: settings.host) }
        if settings.apiPort == 0 { settings.apiPort = try FreePort.find(host: settings.host) }
        if settings.metricsPort == 0 { settings.metricsPort = try FreePort.find(host: settings.metricsHost) }
        let enrollURL = "https://\(settings.urlHost):\(settings.enrollPort)"
        let gateway = settings.gatewayCertificateHeader.flatMap { HTTPField.Name($0) }.map {
            GatewayCertificateSource(trusted: settings.trustedGateways, header: $0)
        }
        let apiURL = "\(gateway == nil ? "https" : "http")://\(settings.urlHost):\(settings.apiPort)"

        let store = try await SQLStore.open(
            options.database ?? .sqlite(path: directory.databasePath), logger: logger,
            auditKey: try ServerKeys.audit(authority))
        let attestation = try loadAttestation(settings: settings.attestation, announce: announce)
        let httpClient = OutOfBandHTTPClient()
        do {
            if options.demo {
                let path = try await DemoUser.ensure(
                    store: store, directory: directory, bcryptCost: settings.bcryptCost)
                announce("demo user alice: credentials in \(path)")
            }
            let dependencies = ServerDependencies(
                store: store, authority: authority,
                sink: try OutOfBandSinkFactory.make(
                    options.oob, outboxPath: directory.outboxPath, httpClient: httpClient),
                settings: settings, enrollURL: enrollURL, apiURL: apiURL,
                auditCheckpointsPath: directory.auditCheckpointsPath, rootKey: try directory.loadRootKey(),
                attestation: attestation, logger: logger)
            let metricsURL = settings.metricsPort.map { "http://\(settings.metricsHost):\($0)/metrics" }
            let ready = Readiness(expected: settings.metricsPort == nil ? 2 : 3) {
                let config = ClientConfig(
                    enrollURL: enrollURL, apiURL: apiURL, pins: server.pins.map(\.description),
                    caChain: authority.chainPEM)
                do {
                    let encoder = JSONEncoder()
                    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
                    let text = String(decoding: try encoder.encode(config), as: UTF8.self) + "\n"
                    try SecureFile.write(text, to: directory.clientConfigPath, mode: 0o644, overwrite: true)
                } catch {
                    announce("warning: could not write \(directory.clientConfigPath)")
                }
                announce("enrollment \(enrollURL)")
                announce("api        \(apiURL)")
                announce("pins       \(server.pins.map(\.description).joined(separator: " "))")
                announce("config     \(directory.clientConfigPath)")
                if let metricsURL { announce("metrics    \(metricsURL)") }
                announce("ready")
            }
            let enrollApp = try buildEnrollmentApplication(
                dependencies, transport: .tls(server), onServerRunning: { await ready.arrived() })
            let apiApp: any Service
            if let gateway {
                announce(
                    "gateway    API listener in plain HTTP for \(settings.trustedGateways.map(\.description).joined(separator: " ")), client certificate from \(gateway.header)"
                )
                apiApp = try buildAPIApplication(
                    dependencies, transport: .plain, certificates: gateway, onServerRunning: { await ready.arrived() })
            } else {
                apiApp = try buildAPIApplication(
                    dependencies, transport: .tls(server), onServerRunning: { await ready.arrived() })
            }
            var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
                .init(service: enrollApp), .init(service: apiApp),
            ]
            if let port = settings.metricsPort {
                services.append(
                    .init(
                        service: buildMetricsApplication(
                            dependencies, host: settings.metricsHost, port: port,
                            onServerRunning: { await ready.arrived() })))
            }
            var groupConfiguration = ServiceGroupConfiguration(
                services: services,
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger)
            // In-flight requests get this long after SIGTERM; then what is left is cancelled and the process exits.
            groupConfiguration.maximumGracefulShutdownDuration = .seconds(settings.shutdownGraceSeconds)
            try await ServiceGroup(configuration: groupConfiguration).run()
        } catch {
            try? await httpClient.shutdown()
            try? await store.close()
            throw error
        }
        try? await httpClient.shutdown()
        try await store.close()
    }
}

extension LatchkeyServer {
    /// The trust anchors of `DATA_DIR/attestation/roots` (published roots only) and the extra roots, said at start.
    func loadAttestation(settings: AttestationSettings, announce: @Sendable (String) -> Void) throws
        -> AttestationAuthority
    {
        let directory = options.dataDirectory
        let extra: [Certificate]
        do { extra = try AttestationFiles.certificates(files: options.attestationExtraRoots, onePerFile: true) } catch {
            throw PKIError(.fileError, error.message)
        }
        let (anchors, ignored) = AttestationTrustAnchors.load(
            directory: directory.attestationRootsPath, extraRoots: extra)
        for name in ignored {
            announce("warning: \(directory.attestationRootsPath)/\(name) is not a published attestation root; ignored")
        }
        for root in extra {
            announce("attestation: also trusting the extra root \(root.subject) (--attestation-extra-root)")
        }
        announce(
            "attestation \(settings.mode.rawValue): \(anchors.apple.count - extra.count) Apple and \(anchors.google.count - extra.count) Google roots installed"
        )
        return AttestationAuthority(
            settings: settings, anchors: anchors, androidRevocationsPath: directory.androidRevocationsPath)
    }
}

/// Calls `action` once `expected` listeners said they are running.
actor Readiness {
    let expected: Int
    let action: @Sendable () -> Void
    private var count = 0

    init(expected: Int, action: @escaping @Sendable () -> Void) {
        self.expected = expected
        self.action = action
    }

    func arrived() {
        count += 1
        if count == expected { action() }
    }
}

/// Picks a free TCP port on a host by binding port 0 and releasing it.
enum FreePort {
    static func find(host: String) throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw PKIError(.fileError, "cannot open a socket") }
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = 0
        address.sin_addr.s_addr = inet_addr(host == "0.0.0.0" || host == "localhost" ? "127.0.0.1" : host)
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0 else { throw PKIError(.fileError, "cannot find a free port on \(host)") }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
        }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}

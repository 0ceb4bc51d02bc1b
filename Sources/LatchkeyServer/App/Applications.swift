import Foundation
import Hummingbird
import HummingbirdCore
import HummingbirdTLS
import LatchkeyPKI
import LatchkeyStore
import NIOCore
import ServiceLifecycle

/// The enrollment listener (TLS, server authentication only): health, the CA chain, enrollment start and completion.
public func buildEnrollmentApplication(
    _ dependencies: ServerDependencies, transport: ListenerTransport,
    onServerRunning: @escaping @Sendable () async -> Void = {}
) throws -> some ApplicationProtocol {
    let settings = dependencies.settings
    let metrics = dependencies.metrics
    metrics.issuingCANotAfter(dependencies.authority.issuing.notValidAfter)
    let enrollment = try EnrollmentAuthority(
        store: dependencies.store, authority: dependencies.authority, settings: settings,
        sink: MeteredSink(base: dependencies.sink, metrics: metrics), apiURL: dependencies.apiURL,
        attestation: dependencies.attestation, metrics: metrics, logger: dependencies.logger)
    let revocationLists = try RevocationLists(
        store: dependencies.store, authority: dependencies.authority, rootKey: dependencies.rootKey,
        lifetime: settings.crlLifetime)
    let router = EnrollmentRoutes.router(
        enrollment: enrollment, caChainPEM: dependencies.authority.chainPEM, revocationLists: revocationLists,
        clock: dependencies.clock, metrics: metrics)
    let server: HTTPServerBuilder
    switch transport {
    case .tls(let identity):
        server = try serverBuilder(
            settings, handshakes: (metrics, .enroll),
            tls: TLSChannelConfiguration(
                tlsConfiguration: try ServerTLS.enrollment(server: identity, authority: dependencies.authority)))
    case .plain:
        server = serverBuilder(settings, tls: nil)
    }
    return Application(
        router: router, server: server,
        configuration: .init(address: .hostname(settings.host, port: settings.enrollPort), serverName: nil),
        onServerRunning: { _ in await onServerRunning() }, logger: dependencies.logger)
}

/// The API listener (mutual TLS in production): who am I, renewal, devices, nonces, the demo bank; every request
/// from a verified, active device; the signed routes behind their signature check. It also runs the batched
/// last-seen writer and the audit checkpoint writer.
public func buildAPIApplication(
    _ dependencies: ServerDependencies, transport: ListenerTransport,
    certificates: any ClientCertificateSource = TLSPeerCertificateSource(),
    onServerRunning: @escaping @Sendable () async -> Void = {}
) throws -> some ApplicationProtocol {
    let settings = dependencies.settings
    let store = dependencies.store
    let sessions = DeviceSessions()
    let devices = try DeviceAuthority(
        store: store, authority: dependencies.authority, settings: settings, apiURL: dependencies.apiURL,
        sessions: sessions)
    let lastSeen = LastSeenRecorder(store: store, logger: dependencies.logger)
    let resolver = DeviceIdentityResolver(authority: dependencies.authority, store: store)
    let router = APIRoutes.router(
        devices: devices,
        bank: DemoBank(
            store: store, requireAttestation: settings.attestation.transfersRequireAttestation),
        identity: DeviceIdentityMiddleware(
            resolver: resolver, certificates: certificates, lastSeen: lastSeen, sessions: sessions,
            clock: dependencies.clock),
        signatures: SignatureMiddleware(
            store: store, clock: dependencies.clock, nonces: devices.nonces,
            appleAppIDs: settings.attestation.appleAppIDs),
        clock: dependencies.clock,
        metrics: dependencies.metrics)
    var services: [any Service] = [
        lastSeen, RevocationTracker(store: store, sessions: sessions, logger: dependencies.logger),
    ]
    if let path = dependencies.auditCheckpointsPath {
        services.append(
            AuditCheckpointWriter(
                store: store, file: AuditCheckpointFile(path: path), logger: dependencies.logger))
    }
    let server: HTTPServerBuilder
    switch transport {
    case .tls(let identity):
        server = try serverBuilder(
            settings, handshakes: (dependencies.metrics, .api),
            tls: TLSChannelConfiguration(
                tlsConfiguration: ServerTLS.api(server: identity, authority: dependencies.authority),
                customVerificationCallback: resolver.verificationCallback()))
    case .plain:
        server = serverBuilder(settings, tls: nil)
    }
    return Application(
        router: router, server: server,
        configuration: .init(address: .hostname(settings.host, port: settings.apiPort), serverName: nil),
        services: services, onServerRunning: { _ in await onServerRunning() }, logger: dependencies.logger)
}

/// HTTP/1, in TLS when `tls` is given, behind the PROXY protocol for `settings.proxyProtocolFrom` (SPEC §7).
func serverBuilder(
    _ settings: ServerSettings, handshakes: (metrics: ServerMetrics, listener: ServerMetrics.Listener)? = nil,
    tls: TLSChannelConfiguration?
) -> HTTPServerBuilder {
    let proxies = settings.proxyProtocolFrom
    return HTTPServerBuilder { responder in
        let http = HTTP1Channel(responder: responder, configuration: http1Configuration(settings, handshakes: handshakes))
        guard let tls else {
            return proxies.isEmpty ? http : ProxyProtocolChannel(base: http, trusted: proxies)
        }
        let secured = try TLSChannel(http, configuration: tls)
        return proxies.isEmpty ? secured : ProxyProtocolChannel(base: secured, trusted: proxies)
    }
}

/// HTTP/1 with the request deadlines (slow-loris defence) and the idle timeout of the settings; on a TLS listener
/// also the count of failed handshakes.
func http1Configuration(
    _ settings: ServerSettings, handshakes: (metrics: ServerMetrics, listener: ServerMetrics.Listener)? = nil
) -> HTTP1Channel.Configuration {
    HTTP1Channel.Configuration(
        additionalChannelHandlers: {
            var handlers: [any RemovableChannelHandler] = []
            if let handshakes {
                handlers.append(HandshakeFailureCounter(metrics: handshakes.metrics, listener: handshakes.listener))
            }
            handlers.append(
                RequestDeadline(
                    headLimit: .seconds(settings.headerTimeoutSeconds),
                    bodyLimit: .seconds(settings.requestTimeoutSeconds)))
            return handlers
        }(),
        idleTimeout: .seconds(settings.idleTimeoutSeconds))
}

/// `GET /metrics` in the Prometheus text format, over plain HTTP on a listener of its own (`--metrics-port`).
public func buildMetricsApplication(
    _ dependencies: ServerDependencies, host: String, port: Int, onServerRunning: @escaping @Sendable () async -> Void = {}
) -> some ApplicationProtocol {
    let metrics = dependencies.metrics
    let router = Router()
    router.get("/metrics") { _, _ in
        Response(
            status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
            body: .init(byteBuffer: ByteBuffer(string: metrics.exposition())))
    }
    return Application(
        router: router, configuration: .init(address: .hostname(host, port: port), serverName: nil),
        onServerRunning: { _ in await onServerRunning() }, logger: dependencies.logger)
}

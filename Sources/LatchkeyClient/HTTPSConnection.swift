import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOTLS

/// An HTTP/1.1 response as the SDK sees it.
public struct HTTPResult: Sendable {
    public let status: Int
    public let headers: [(String, String)]
    public let body: Data

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// One keep-alive HTTPS connection on SwiftNIO + NIOSSL, with the server checked by a ``ServerTrust`` inside NIOSSL's
/// custom verification callback, and optionally a client certificate (mutual TLS).
///
/// Guarantees: nothing is written to the connection before the TLS handshake completed with the server trusted; a
/// refused server surfaces as the ``ClientError`` that refused it; every request has a timeout.
final class HTTPSConnection: Sendable {
    let channel: any Channel
    let host: String
    private let collector: NIOLoopBound<ResponseCollector>
    let requestTimeout: TimeAmount

    private init(
        channel: any Channel, host: String, collector: NIOLoopBound<ResponseCollector>, requestTimeout: TimeAmount
    ) {
        self.channel = channel
        self.host = host
        self.collector = collector
        self.requestTimeout = requestTimeout
    }

    /// Connects, completes the TLS handshake and checks the server; throws the refusal otherwise.
    static func open(
        host: String, port: Int, trust: ServerTrust, clientCertificatePEM: String?, clientKeyPEM: String?,
        connectTimeout: TimeAmount = .seconds(10), requestTimeout: TimeAmount = .seconds(30)
    ) async throws -> HTTPSConnection {
        var configuration = TLSConfiguration.makeClientConfiguration()
        configuration.minimumTLSVersion = .tlsv12
        configuration.certificateVerification = .fullVerification
        if let clientCertificatePEM, let clientKeyPEM {
            configuration.certificateChain = try NIOSSLCertificate.fromPEMBytes(Array(clientCertificatePEM.utf8)).map {
                .certificate($0)
            }
            configuration.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: Array(clientKeyPEM.utf8), format: .pem))
        }
        let context = try NIOSSLContext(configuration: configuration)
        let failure = NIOLockedValueBox<ClientError?>(nil)
        let isIP = host.contains(":") || host.allSatisfy { $0.isNumber || $0 == "." }
        // The promise and the collector are made before connecting: looking handlers up in the pipeline afterwards
        // races with a server that closes the connection at once.
        let loop = MultiThreadedEventLoopGroup.singleton.next()
        let handshake = loop.makePromise(of: Void.self)
        let collectorBox = NIOLockedValueBox<NIOLoopBound<ResponseCollector>?>(nil)
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: loop)
                .connectTimeout(connectTimeout)
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let ssl = try NIOSSLClientHandler(
                            context: context, serverHostname: isIP ? nil : host,
                            customVerificationCallback: trust.callback(hostname: host, failure: failure))
                        try channel.pipeline.syncOperations.addHandler(ssl)
                        try channel.pipeline.syncOperations.addHandler(HandshakeWaiter(promise: handshake))
                        try channel.pipeline.syncOperations.addHTTPClientHandlers()
                        let collector = ResponseCollector()
                        try channel.pipeline.syncOperations.addHandler(collector)
                        collectorBox.withLockedValue { $0 = NIOLoopBound(collector, eventLoop: channel.eventLoop) }
                    }
                }
                .connect(host: host, port: port).get()
        } catch {
            handshake.fail(ClientError.transport("cannot connect"))
            throw ClientError.transport("cannot connect to \(host):\(port)")
        }
        do {
            try await handshake.futureResult.get()
        } catch {
            channel.close(promise: nil)
            if let refusal = failure.withLockedValue({ $0 }) { throw refusal }
            throw ClientError.transport("the TLS handshake with \(host):\(port) failed (\(error))")
        }
        guard let collector = collectorBox.withLockedValue({ $0 }) else {
            channel.close(promise: nil)
            throw ClientError.transport("the connection to \(host):\(port) was not set up")
        }
        return HTTPSConnection(channel: channel, host: host, collector: collector, requestTimeout: requestTimeout)
    }

    var isActive: Bool { channel.isActive }

    /// Sends one request and waits for its whole response.
    func send(method: String, target: String, headers: [(String, String)], body: Data?) async throws -> HTTPResult {
        let loop = channel.eventLoop
        let promise = loop.makePromise(of: HTTPResult.self)
        var head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: target)
        head.headers.add(name: "Host", value: host)
        head.headers.add(name: "User-Agent", value: "LatchkeyClient/1")
        for (name, value) in headers { head.headers.add(name: name, value: value) }
        head.headers.add(name: "Content-Length", value: String(body?.count ?? 0))
        let request = head
        let channel = self.channel
        let collector = self.collector
        let timeout = requestTimeout
        loop.execute {
            collector.value.pending.append(promise)
            channel.write(HTTPClientRequestPart.head(request), promise: nil)
            if let body, !body.isEmpty {
                channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil)
            }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            let task = loop.scheduleTask(in: timeout) {
                promise.fail(ClientError.transport("no response within \(timeout.nanoseconds / 1_000_000_000) s"))
                channel.close(promise: nil)
            }
            promise.futureResult.whenComplete { _ in task.cancel() }
        }
        do {
            return try await promise.futureResult.get()
        } catch let error as ClientError {
            throw error
        } catch {
            throw ClientError.transport("the connection to \(host) failed (\(error))")
        }
    }

    func close() {
        channel.close(promise: nil)
    }
}

/// Completes a promise when the TLS handshake finished, or fails it with the first error.
final class HandshakeWaiter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let promise: EventLoopPromise<Void>

    init(promise: EventLoopPromise<Void>) {
        self.promise = promise
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case TLSUserEvent.handshakeCompleted = event { promise.succeed(()) }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        promise.fail(error)
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(ClientError.transport("the connection closed during the TLS handshake"))
        context.fireChannelInactive()
    }
}

/// Collects HTTP responses and completes the oldest pending request with each.
final class ResponseCollector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    var pending: [EventLoopPromise<HTTPResult>] = []
    private var head: HTTPResponseHead?
    private var body = Data()

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = Data()
        case .body(let buffer):
            body.append(contentsOf: buffer.readableBytesView)
            if body.count > 16 << 20 {
                fail(ClientError.transport("response too large"))
                context.close(promise: nil)
            }
        case .end:
            guard let head, !pending.isEmpty else { return }
            let result = HTTPResult(
                status: Int(head.status.code), headers: head.headers.map { ($0.name, $0.value) }, body: body)
            self.head = nil
            pending.removeFirst().succeed(result)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(ClientError.transport("the connection closed"))
        context.fireChannelInactive()
    }

    private func fail(_ error: any Error) {
        let waiting = pending
        pending = []
        for promise in waiting { promise.fail(error) }
    }
}

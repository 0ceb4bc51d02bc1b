import Foundation
import LatchkeyCommandLine
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// One HTTP/1.1 request of a load script.
struct LoadRequest {
    var method: HTTPMethod
    var path: String
    var headers: [(String, String)] = []
    var body: [UInt8] = []
    /// Whether answering it completes one measured operation (a nonce fetch before a signed transfer does not).
    var completesOperation = true
}

/// A response as a load script sees it.
struct LoadResponse {
    let status: Int
    let body: ByteBuffer
}

/// What one connection sends, step by step; made on the connection's event loop and used only there.
protocol LoadScript: AnyObject {
    /// The next request, given the answer to the previous one (nil before the first); nil when the script is done.
    func next(after response: LoadResponse?) throws -> LoadRequest?
}

/// The options of one load run.
struct LoadOptions: Sendable {
    enum Mode: String, Sendable, CaseIterable {
        /// A new connection, with a full TLS handshake, for every operation.
        case handshake
        /// Operations reuse one connection per slot.
        case keepalive
    }

    var host: String
    var port: Int
    /// nil for plain HTTP.
    var tls: NIOSSLContext?
    var connections: Int
    var threads: Int
    var seconds: Double
    var warmupSeconds: Double
    var mode: Mode
    /// A file descriptor (opened O_APPEND) that receives the body of every successful operation, one per line.
    var recordDescriptor: Int32? = nil
}

/// The outcome of one load run.
struct LoadResult: Sendable {
    var operations: Int
    var errors: Int
    var seconds: Double
    var latenciesNanoseconds: [UInt64]
    var firstError: String?
    /// When a slot's script ran out of work before the deadline (monotonic nanoseconds).
    var exhaustedAt: UInt64?

    var operationsPerSecond: Double { seconds > 0 ? Double(operations) / seconds : 0 }

    /// The latency at quantile `q` (0...1) in milliseconds, nearest rank.
    func latencyMilliseconds(_ q: Double) -> Double {
        guard !latenciesNanoseconds.isEmpty else { return 0 }
        let sorted = latenciesNanoseconds.sorted()
        let rank = min(sorted.count - 1, max(0, Int((q * Double(sorted.count)).rounded(.up)) - 1))
        return Double(sorted[rank]) / 1e6
    }

    static func merged(_ parts: [LoadResult], seconds: Double) -> LoadResult {
        LoadResult(
            operations: parts.reduce(0) { $0 + $1.operations }, errors: parts.reduce(0) { $0 + $1.errors },
            seconds: seconds, latenciesNanoseconds: parts.flatMap(\.latenciesNanoseconds),
            firstError: parts.lazy.compactMap(\.firstError).first)
    }
}

/// An HTTP/1.1 load generator on SwiftNIO + NIOSSL that can present a client certificate (wrk and h2load cannot).
///
/// Guarantees: each slot runs its script on one connection at a time; in `handshake` mode every operation opens a
/// new connection (the client keeps no session, so every handshake is a full one); only operations finished between
/// the end of the warm-up and the deadline are counted; latency runs from sending the operation's first request (or
/// from starting the connection, in `handshake` mode) to the end of its last response.
enum LoadGenerator {
    static func run(_ options: LoadOptions, script: @escaping @Sendable (Int) -> any LoadScript) async throws
        -> LoadResult
    {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, options.threads))
        let start = NIODeadline.now()
        let measureFrom = start + .nanoseconds(Int64(options.warmupSeconds * 1e9))
        let deadline = measureFrom + .nanoseconds(Int64(options.seconds * 1e9))
        var futures: [EventLoopFuture<LoadResult>] = []
        for slot in 0..<max(1, options.connections) {
            let loop = group.next()
            let promise = loop.makePromise(of: LoadResult.self)
            futures.append(promise.futureResult)
            loop.execute {
                let worker = LoadSlot(
                    slot: slot, options: options, loop: loop, measureFrom: measureFrom, deadline: deadline,
                    script: script(slot), promise: promise)
                worker.connect()
            }
        }
        var parts: [LoadResult] = []
        for future in futures { parts.append(try await future.get()) }
        try await group.shutdownGracefully()
        // A finite workload (seeded enrollments) that ran out early is measured up to its last operation.
        var seconds = options.seconds
        let ends = parts.compactMap(\.exhaustedAt)
        if ends.count == parts.count, let last = ends.max() {
            seconds = min(seconds, max(0.001, Double(Int64(last) - Int64(measureFrom.uptimeNanoseconds)) / 1e9))
        }
        return LoadResult.merged(parts, seconds: seconds)
    }
}

/// One connection slot: connects, runs its script, reconnects after a close until the deadline.
final class LoadSlot {
    let slot: Int
    let options: LoadOptions
    let loop: any EventLoop
    let measureFrom: NIODeadline
    let deadline: NIODeadline
    let script: any LoadScript
    let promise: EventLoopPromise<LoadResult>
    var result = LoadResult(operations: 0, errors: 0, seconds: 0, latenciesNanoseconds: [])
    var finished = false
    var scriptDone = false
    var operationStart: NIODeadline?

    init(
        slot: Int, options: LoadOptions, loop: any EventLoop, measureFrom: NIODeadline, deadline: NIODeadline,
        script: any LoadScript, promise: EventLoopPromise<LoadResult>
    ) {
        self.slot = slot
        self.options = options
        self.loop = loop
        self.measureFrom = measureFrom
        self.deadline = deadline
        self.script = script
        self.promise = promise
        result.latenciesNanoseconds.reserveCapacity(4096)
    }

    var timeIsUp: Bool { NIODeadline.now() >= deadline }

    func connect() {
        guard !finished else { return }
        if timeIsUp || scriptDone { return finish() }
        if options.mode == .handshake { operationStart = .now() }
        let bound = NIOLoopBound(self, eventLoop: loop)
        let tls = options.tls
        let host = options.host
        ClientBootstrap(group: loop)
            .connectTimeout(.seconds(10))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls {
                        let isIP = host.allSatisfy { $0.isNumber || $0 == "." || $0 == ":" }
                        try channel.pipeline.syncOperations.addHandler(
                            try NIOSSLClientHandler(context: tls, serverHostname: isIP ? nil : host))
                    }
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(LoadConnectionHandler(slot: bound.value))
                }
            }
            .connect(host: options.host, port: options.port)
            .whenComplete { outcome in
                let slot = bound.value
                switch outcome {
                case .success(let channel):
                    channel.closeFuture.whenComplete { _ in bound.value.connectionClosed() }
                case .failure(let error):
                    slot.recordError("connect: \(error)")
                    slot.loop.scheduleTask(in: .milliseconds(10)) { bound.value.connect() }
                }
            }
    }

    func connectionClosed() {
        if timeIsUp || scriptDone { finish() } else { connect() }
    }

    /// The next request to send on an open connection, or nil to close it.
    func nextRequest(after response: LoadResponse?) -> LoadRequest? {
        guard !timeIsUp else { return nil }
        do {
            guard let request = try script.next(after: response) else {
                scriptDone = true
                result.exhaustedAt = NIODeadline.now().uptimeNanoseconds
                return nil
            }
            return request
        } catch {
            recordError("script: \(error)")
            scriptDone = true
            return nil
        }
    }

    func operationStarted() {
        if operationStart == nil { operationStart = .now() }
    }

    func operationCompleted() {
        let now = NIODeadline.now()
        if now >= measureFrom && now < deadline {
            result.operations += 1
            if let operationStart {
                result.latenciesNanoseconds.append(UInt64(max(0, (now - operationStart).nanoseconds)))
            }
        }
        operationStart = nil
    }

    func recordError(_ description: String) {
        let now = NIODeadline.now()
        if now >= measureFrom && now < deadline { result.errors += 1 }
        if result.firstError == nil { result.firstError = description }
        operationStart = nil
    }

    func finish() {
        guard !finished else { return }
        finished = true
        promise.succeed(result)
    }
}

/// The HTTP side of one load connection: sends the script's requests one at a time and reads each answer.
final class LoadConnectionHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    let slot: LoadSlot
    var status = 0
    var body = ByteBuffer()
    var pending: LoadRequest?
    var closeAfterResponse = false

    init(slot: LoadSlot) {
        self.slot = slot
    }

    func channelActive(context: ChannelHandlerContext) {
        sendNext(context: context, after: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
            body.clear()
            if !head.isKeepAlive { closeAfterResponse = true }
        case .body(var chunk):
            body.writeBuffer(&chunk)
        case .end:
            let response = LoadResponse(status: status, body: body)
            let request = pending
            pending = nil
            if (200..<300).contains(status) {
                if request?.completesOperation ?? true {
                    slot.operationCompleted()
                    if let descriptor = slot.options.recordDescriptor { Self.record(response.body, to: descriptor) }
                }
            } else {
                slot.recordError(
                    "HTTP \(status) for \(request?.path ?? "?"): \(String(buffer: body).prefix(200))")
            }
            if slot.options.mode == .handshake && (request?.completesOperation ?? true) || closeAfterResponse {
                context.close(promise: nil)
            } else {
                sendNext(context: context, after: response)
            }
        }
    }

    /// Appends one answer as a line: a single `write` to an O_APPEND descriptor, so lines never interleave.
    static func record(_ body: ByteBuffer, to descriptor: Int32) {
        var line = Array(body.readableBytesView.filter { $0 != 0x0A })
        line.append(0x0A)
        _ = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }

    func sendNext(context: ChannelHandlerContext, after response: LoadResponse?) {
        guard let request = slot.nextRequest(after: response) else {
            context.close(promise: nil)
            return
        }
        slot.operationStarted()
        pending = request
        var head = HTTPRequestHead(version: .http1_1, method: request.method, uri: request.path)
        head.headers.add(name: "Host", value: slot.options.host)
        head.headers.add(name: "Content-Length", value: String(request.body.count))
        let lastOfConnection = slot.options.mode == .handshake && request.completesOperation
        head.headers.add(name: "Connection", value: lastOfConnection ? "close" : "keep-alive")
        for (name, value) in request.headers { head.headers.add(name: name, value: value) }
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !request.body.isEmpty {
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(bytes: request.body)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if pending != nil || slot.result.firstError == nil {
            slot.recordError("\(error)")
        }
        pending = nil
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if pending != nil {
            slot.recordError("the server closed the connection before answering \(pending?.path ?? "")")
            pending = nil
        }
        context.fireChannelInactive()
    }
}

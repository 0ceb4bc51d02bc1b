import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Closes a connection whose next request is not received in time: the defence against slow-loris clients that
/// dribble their handshake, header or body bytes to hold connections open.
///
/// Guarantees: the head clock starts when the connection is set up (so it covers the TLS handshake) and again when a
/// response ends; it stops when a full request head has arrived, and then the body clock starts, which stops when
/// the whole request has arrived. A client that has not sent a complete head within `headLimit`, or a complete body
/// within `bodyLimit` of its head, is disconnected however slowly it keeps sending. The server's own work on a
/// request is never cut.
final class RequestDeadline: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    let headLimit: TimeAmount
    let bodyLimit: TimeAmount
    /// When the connection is closed unless the awaited part has arrived; nil while the server works on a request.
    private var deadline: NIODeadline?
    /// The one timer of the connection and when it fires. Moving the deadline later only updates `deadline` (the
    /// timer re-arms itself when it fires early); scheduling and cancelling a timer twice per request was 7% of the
    /// server's time under perf on keep-alive requests.
    private var timer: Scheduled<Void>?
    private var firesAt: NIODeadline?

    init(headLimit: TimeAmount, bodyLimit: TimeAmount) {
        self.headLimit = headLimit
        self.bodyLimit = bodyLimit
    }

    func handlerAdded(context: ChannelHandlerContext) {
        arm(headLimit, context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        disarm()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head: arm(bodyLimit, context: context)
        case .end: deadline = nil
        case .body: break
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if case .end = unwrapOutboundIn(data) { arm(headLimit, context: context) }
        context.write(data, promise: promise)
    }

    func channelInactive(context: ChannelHandlerContext) {
        disarm()
        context.fireChannelInactive()
    }

    private func disarm() {
        deadline = nil
        timer?.cancel()
        timer = nil
        firesAt = nil
    }

    private func arm(_ limit: TimeAmount, context: ChannelHandlerContext) {
        let due = NIODeadline.now() + limit
        deadline = due
        if let firesAt, firesAt <= due { return }
        schedule(at: due, context: context)
    }

    private func schedule(at instant: NIODeadline, context: ChannelHandlerContext) {
        timer?.cancel()
        firesAt = instant
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(deadline: instant) {
            let (handler, context) = bound.value
            handler.fire(context: context)
        }
    }

    private func fire(context: ChannelHandlerContext) {
        timer = nil
        firesAt = nil
        guard let deadline else { return }
        if deadline <= NIODeadline.now() {
            context.close(promise: nil)
        } else {
            schedule(at: deadline, context: context)
        }
    }
}

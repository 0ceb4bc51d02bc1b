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
    private var timer: Scheduled<Void>?

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
        case .end: disarm()
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
        timer?.cancel()
        timer = nil
    }

    private func arm(_ limit: TimeAmount, context: ChannelHandlerContext) {
        timer?.cancel()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleTask(in: limit) {
            bound.value.close(promise: nil)
        }
    }
}

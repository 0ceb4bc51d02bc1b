import NIOCore
import NIOSSL

/// Counts TLS handshakes that fail on a listener (`latchkey_tls_handshake_failures_total`): an error from the TLS
/// handler before the handshake completed, counted once per connection.
final class HandshakeFailureCounter: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let metrics: ServerMetrics
    let listener: ServerMetrics.Listener
    private var settled = false

    init(metrics: ServerMetrics, listener: ServerMetrics.Listener) {
        self.metrics = metrics
        self.listener = listener
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Application data only flows once the handshake is done.
        settled = true
        context.fireChannelRead(data)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if !settled, error is NIOSSLError || error is BoringSSLError {
            settled = true
            metrics.handshakeFailure(listener: listener)
        }
        context.fireErrorCaught(error)
    }
}

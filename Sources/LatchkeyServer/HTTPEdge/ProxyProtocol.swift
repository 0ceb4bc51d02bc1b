import Foundation
import Hummingbird
import HummingbirdCore
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The client addresses that PROXY protocol headers named, per connection, for ``LatchkeyRequestContext`` (rate
/// limits, logs). Entries go when their connection closes.
final class ProxiedAddresses: Sendable {
    static let shared = ProxiedAddresses()
    private let addresses = NIOLockedValueBox<[ObjectIdentifier: String]>([:])

    func set(_ address: String, for channel: any Channel) {
        addresses.withLockedValue { $0[ObjectIdentifier(channel)] = address }
    }

    func address(of channel: any Channel) -> String? {
        addresses.withLockedValue { $0[ObjectIdentifier(channel)] }
    }

    func remove(_ channel: any Channel) {
        _ = addresses.withLockedValue { $0.removeValue(forKey: ObjectIdentifier(channel)) }
    }
}

/// A PROXY protocol header (v1 text or v2 binary, as HAProxy's `send-proxy`/`send-proxy-v2` and nginx's
/// `proxy_protocol on` write) at the start of a connection.
enum ProxyHeader {
    case incomplete
    /// The header's length and the client address it names (nil for `LOCAL`/`UNKNOWN`: the proxy's own connection).
    case header(length: Int, source: String?)
    case invalid

    static let v2Signature: [UInt8] = [0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D, 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A]

    static func parse(_ bytes: [UInt8]) -> ProxyHeader {
        let v1Prefix = Array("PROXY ".utf8)
        if bytes.count < 12 {
            let signaturePrefix = bytes.elementsEqual(v2Signature.prefix(bytes.count))
            let v1 = bytes.prefix(v1Prefix.count).elementsEqual(v1Prefix.prefix(min(bytes.count, v1Prefix.count)))
            return signaturePrefix || v1 ? .incomplete : .invalid
        }
        if bytes.starts(with: v2Signature) { return parseV2(bytes) }
        if bytes.starts(with: v1Prefix) { return parseV1(bytes) }
        return .invalid
    }

    static func parseV1(_ bytes: [UInt8]) -> ProxyHeader {
        guard let end = bytes.firstIndex(of: 0x0A) else { return bytes.count > 107 ? .invalid : .incomplete }
        guard end <= 106, end > 0, bytes[end - 1] == 0x0D else { return .invalid }
        let fields = String(decoding: bytes[0..<(end - 1)], as: UTF8.self).split(separator: " ")
        if fields.count >= 2 && fields[1] == "UNKNOWN" { return .header(length: end + 1, source: nil) }
        guard fields.count == 6, fields[1] == "TCP4" || fields[1] == "TCP6",
            let source = AddressRange.bytes(String(fields[2])), AddressRange.bytes(String(fields[3])) != nil,
            source.count == (fields[1] == "TCP4" ? 4 : 16), UInt16(fields[4]) != nil, UInt16(fields[5]) != nil
        else { return .invalid }
        return .header(length: end + 1, source: String(fields[2]))
    }

    static func parseV2(_ bytes: [UInt8]) -> ProxyHeader {
        guard bytes.count >= 16 else { return .incomplete }
        let versionCommand = bytes[12]
        guard versionCommand >> 4 == 2 else { return .invalid }
        let length = 16 + Int(bytes[14]) << 8 + Int(bytes[15])
        guard length <= 16 + 2048 else { return .invalid }
        guard bytes.count >= length else { return .incomplete }
        switch versionCommand & 0x0F {
        case 0x0: return .header(length: length, source: nil)
        case 0x1: break
        default: return .invalid
        }
        switch bytes[13] {
        case 0x11, 0x12:
            guard length >= 16 + 12 else { return .invalid }
            return .header(length: length, source: bytes[16..<20].map(String.init).joined(separator: "."))
        case 0x21, 0x22:
            guard length >= 16 + 36 else { return .invalid }
            var address = in6_addr()
            withUnsafeMutableBytes(of: &address) { $0.copyBytes(from: bytes[16..<32]) }
            var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
            guard inet_ntop(AF_INET6, &address, &text, socklen_t(text.count)) != nil else { return .invalid }
            return .header(length: length, source: String(cString: text))
        case 0x00:
            return .header(length: length, source: nil)
        default:
            return .invalid
        }
    }
}

/// Reads the PROXY protocol header that connections from trusted proxies must begin with, before TLS.
///
/// Guarantees: a connection from a listed address must begin with a valid v1 or v2 header, or it is closed; the
/// header's source address then stands for the client (``LatchkeyRequestContext/clientAddress``). Connections from
/// other addresses are passed on untouched (a header they send is not believed: it reaches TLS as garbage).
final class ProxyProtocolHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    let trusted: [AddressRange]
    private var buffered: ByteBuffer?
    /// Set once the header was read or the peer is not a listed proxy: everything else passes through.
    private var passThrough = false

    init(trusted: [AddressRange]) {
        self.trusted = trusted
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if passThrough {
            context.fireChannelRead(data)
            return
        }
        if buffered == nil {
            guard let peer = context.channel.remoteAddress?.ipAddress, trusted.contains(where: { $0.contains(peer) })
            else {
                // Not a listed proxy: whatever it sends is the client's own bytes, a PROXY header included.
                passThrough = true
                context.fireChannelRead(data)
                context.pipeline.syncOperations.removeHandler(self, promise: nil)
                return
            }
            buffered = context.channel.allocator.buffer(capacity: 256)
        }
        guard var buffered else { return }
        var incoming = unwrapInboundIn(data)
        buffered.writeBuffer(&incoming)
        self.buffered = buffered
        switch ProxyHeader.parse(Array(buffered.readableBytesView)) {
        case .incomplete:
            if buffered.readableBytes > 16 + 2048 { context.close(promise: nil) }
        case .invalid:
            self.buffered = nil
            context.close(promise: nil)
        case .header(let length, let source):
            if let source { ProxiedAddresses.shared.set(source, for: context.channel) }
            buffered.moveReaderIndex(forwardBy: length)
            self.buffered = nil
            passThrough = true
            if buffered.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(buffered)) }
            context.pipeline.syncOperations.removeHandler(self, promise: nil)
        }
    }
}

/// A child channel that reads a PROXY protocol header before the wrapped channel's setup (TLS and HTTP).
struct ProxyProtocolChannel<BaseChannel: ServerChildChannel>: ServerChildChannel {
    typealias Value = BaseChannel.Value
    let base: BaseChannel
    let trusted: [AddressRange]

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandler(ProxyProtocolHandler(trusted: trusted))
            try channel.pipeline.syncOperations.addHandler(ProxiedAddressCleanup())
        }.flatMap {
            base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

/// Forgets a connection's proxied address when it closes (the PROXY handler leaves the pipeline early).
final class ProxiedAddressCleanup: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny

    func channelInactive(context: ChannelHandlerContext) {
        ProxiedAddresses.shared.remove(context.channel)
        context.fireChannelInactive()
    }
}

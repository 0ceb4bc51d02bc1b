import Foundation
import Hummingbird
import NIOCore
import NIOSSL

/// Where the API listener gets a request's client certificate (DER). In production the TLS connection's verified
/// peer certificate; a test injects its own source.
///
/// Guarantees of every source: nil when the request carries no certificate; the certificate is then checked the same
/// way whatever its source (chain, device state, revocation) by ``DeviceIdentityResolver``.
public protocol ClientCertificateSource: Sendable {
    func certificate(for request: Request, context: LatchkeyRequestContext) async throws -> ByteBuffer?
    /// True when a connection carries one certificate for its whole life (mutual TLS), so the device verified on it
    /// may be kept with the connection (``DeviceSessions``); false when each request brings its own (a gateway's
    /// header: one gateway connection carries many clients).
    var isPerConnection: Bool { get }
}

extension ClientCertificateSource {
    public var isPerConnection: Bool { false }
}

/// The peer certificate of the mutual-TLS connection, remembered per connection so keep-alive requests do not ask
/// the TLS handler (a hop to the event loop) every time.
///
/// Guarantees: an entry is held weakly by its channel, so it never matches another connection; the table is bounded.
public actor TLSPeerCertificateSource: ClientCertificateSource {
    private struct PeerEntry {
        weak var channel: (any Channel)?
        let der: ByteBuffer
    }

    private var peers: [ObjectIdentifier: PeerEntry] = [:]

    public init() {}

    public nonisolated var isPerConnection: Bool { true }

    public func certificate(for request: Request, context: LatchkeyRequestContext) async throws -> ByteBuffer? {
        let channel = context.channel
        let key = ObjectIdentifier(channel)
        if let entry = peers[key], entry.channel === channel { return entry.der }
        guard let peer = try await channel.nioSSL_peerCertificate().get() else { return nil }
        let der = ByteBuffer(bytes: try peer.toDERBytes())
        if peers.count >= 20_000 { peers = peers.filter { $0.value.channel != nil } }
        if peers.count >= 20_000 { peers.removeAll(keepingCapacity: true) }
        peers[key] = PeerEntry(channel: channel, der: der)
        return der
    }
}

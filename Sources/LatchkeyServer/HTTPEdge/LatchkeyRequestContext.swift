import LatchkeyProtocol
import Hummingbird
import LatchkeyPKI
import Logging
import NIOConcurrencyHelpers
import NIOCore

/// The request context of both listeners: the connection's channel (for the peer certificate and address) and,
/// on the API listener, the verified device identity set by ``DeviceIdentityMiddleware`` before any handler runs.
public struct LatchkeyRequestContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    public let channel: any Channel
    /// The verified device; nil on the enrollment listener.
    public var device: VerifiedDevice?
    /// The evidence of a verified request signature, set by ``SignatureMiddleware``.
    public var signatureEvidence: SignatureEvidence?
    /// The verified signed request's replay guard, for the handler to spend in its transaction.
    var replayGuard: PendingReplayGuard?
    /// The id the edge gave this request (also in the `X-Request-ID` response header and error bodies).
    public var requestID: String?
    /// Facts inner middleware learn for the edge's request log line (the context itself is copied inward).
    let facts = RequestFacts()

    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.channel = source.channel
    }

    /// Request bodies are limited to 1 MiB (SPEC §4: 413 `body_too_large`).
    public var maxUploadSize: Int { BodyLimit.maximumBytes }

    /// The client's IP address, for per-address limits and logs: the one a trusted proxy's PROXY protocol header
    /// named, or the connection's own.
    public var clientAddress: String {
        ProxiedAddresses.shared.address(of: channel) ?? channel.remoteAddress?.ipAddress ?? "unknown"
    }

    /// The replay guard of the verified signed request, or a refusal if the route is not behind the signatures.
    func requireReplayGuard() throws -> PendingReplayGuard {
        guard let replayGuard else {
            throw Refusal(.signatureMissing, "this endpoint requires an RFC 9421 signature labelled sig1")
        }
        return replayGuard
    }

    /// The verified signature's evidence: a signed handler calls this first, so a route that somehow ran without
    /// ``SignatureMiddleware`` refuses with `signature_missing` instead of acting unsigned.
    func requireSignature() throws -> SignatureEvidence {
        guard let signatureEvidence else {
            throw Refusal(.signatureMissing, "this endpoint requires an RFC 9421 signature labelled sig1")
        }
        return signatureEvidence
    }

    /// The verified device, or an internal error if a route forgot the identity middleware.
    func requireDevice() throws -> VerifiedDevice {
        guard let device else { throw Refusal.internalError }
        return device
    }
}

/// The request body limit and its refusal.
enum BodyLimit {
    static let maximumBytes = 1 << 20

    /// Collects a request body, refusing one over the limit with 413 `body_too_large`.
    static func collect(_ request: Request) async throws -> ByteBuffer {
        var request = request
        do {
            return try await request.collectBody(upTo: maximumBytes)
        } catch {
            throw Refusal(.bodyTooLarge, "the request body is larger than 1 MiB")
        }
    }
}

/// What the edge logs about a request that only inner middleware knows: the verified device. One per request.
final class RequestFacts: Sendable {
    private let device = NIOLockedValueBox<String?>(nil)

    var deviceID: String? {
        get { device.withLockedValue { $0 } }
        set { device.withLockedValue { $0 = newValue } }
    }
}

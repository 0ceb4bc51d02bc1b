import Foundation
import LatchkeyPKI
import LatchkeyStore
import Logging
import X509

/// The time the server acts at: the system clock in production, a settable one in tests (expiry without sleeping).
public struct ServerClock: Sendable {
    public let now: @Sendable () -> Date

    public init(_ now: @escaping @Sendable () -> Date) {
        self.now = now
    }

    public static let system = ServerClock { Date() }
}

/// Everything the two listeners are built from (the composition root's input): the store, the CA, the out-of-band
/// sink, the settings, a clock, and the URLs the answers name. `LatchkeyServer.run` makes one from the data
/// directory; a test makes one from a temporary store.
public struct ServerDependencies: Sendable {
    public var store: any LatchkeyStore
    public var authority: CertificateAuthority
    public var sink: any OutOfBandSink
    public var settings: ServerSettings
    public var clock: ServerClock
    public var enrollURL: String
    public var apiURL: String
    /// Where `serve` keeps audit checkpoints; nil writes none (tests).
    public var auditCheckpointsPath: String?
    /// The Prometheus series both listeners record into.
    public var metrics: ServerMetrics
    /// The root key, for the root's CRL; nil when it is kept offline.
    public var rootKey: Certificate.PrivateKey?
    /// Trust anchors and the Android revocation list for attested enrollment; unconfigured refuses attestations.
    public var attestation: AttestationAuthority
    public var logger: Logger

    public init(
        store: any LatchkeyStore, authority: CertificateAuthority, sink: any OutOfBandSink,
        settings: ServerSettings = ServerSettings(), clock: ServerClock = .system, enrollURL: String, apiURL: String,
        auditCheckpointsPath: String? = nil, metrics: ServerMetrics = ServerMetrics(),
        rootKey: Certificate.PrivateKey? = nil, attestation: AttestationAuthority = .unconfigured,
        logger: Logger = Logger(label: "latchkey")
    ) {
        self.attestation = attestation
        self.metrics = metrics
        self.rootKey = rootKey
        self.store = store
        self.authority = authority
        self.sink = sink
        self.settings = settings
        self.clock = clock
        self.enrollURL = enrollURL
        self.apiURL = apiURL
        self.auditCheckpointsPath = auditCheckpointsPath
        self.logger = logger
    }
}

/// How a listener is served: TLS with the server identity (production), or plain HTTP/1 for in-process tests, whose
/// router-level client never opens a socket.
public enum ListenerTransport: Sendable {
    case tls(ServerIdentity)
    case plain
}

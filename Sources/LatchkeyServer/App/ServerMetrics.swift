import Foundation
import NIOConcurrencyHelpers
import LatchkeyProtocol
import Prometheus

/// The Prometheus series of SPEC §7, kept in one registry and rendered for `GET /metrics`.
///
/// Guarantees: every label value comes from a closed set (listener names, route templates or `NotFound`, HTTP
/// statuses the server sends, ``ErrorCode`` cases, sink channel names, assurance levels), never from what a client
/// sent, so no request can grow the number of series. Recording is a registry lookup under a short lock.
public final class ServerMetrics: Sendable {
    /// The listener a series belongs to.
    public enum Listener: String, Sendable {
        case enroll, api
    }

    public let registry: PrometheusCollectorRegistry
    private let enrollmentsStarted: Counter
    private let revocations: Counter
    private let issuingNotAfter: Gauge

    static let durationBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2), .milliseconds(5), .milliseconds(10), .milliseconds(25), .milliseconds(50),
        .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1), .seconds(2), .seconds(5),
    ]

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
        enrollmentsStarted = registry.makeCounter(
            descriptor: Self.name("enrollments_started", "total", "Enrollments started (a code was sent)."))
        revocations = registry.makeCounter(
            descriptor: Self.name("revocations", "total", "Devices revoked through this instance."))
        issuingNotAfter = registry.makeGauge(
            descriptor: Self.name(
                "issuing_ca_not_after", "seconds", "When the issuing CA certificate expires (Unix time)."))
    }

    static func name(_ metric: String, _ unit: String, _ help: String) -> MetricNameDescriptor {
        MetricNameDescriptor(namespace: "latchkey", metricName: metric, unitName: unit, helpText: help)
    }

    func enrollmentStarted() { enrollmentsStarted.increment() }

    func enrollmentCompleted(assurance: String) {
        registry.makeCounter(
            descriptor: Self.name("enrollments_completed", "total", "Devices enrolled, by assurance level."),
            labels: [("assurance", assurance)]
        ).increment()
    }

    /// The two series one request moves, looked up once per listener, route and status: building their names and
    /// labels in the registry on every request was 4% of the server's time under perf on keep-alive requests.
    private struct RequestSeries {
        let count: Counter
        let duration: DurationHistogram
    }

    private struct RequestKey: Hashable {
        let listener: Listener
        let route: String
        let status: Int
    }

    private let requestSeries = NIOLockedValueBox<[RequestKey: RequestSeries]>([:])

    func request(listener: Listener, route: String, status: Int, duration: Duration) {
        let key = RequestKey(listener: listener, route: route, status: status)
        let series =
            requestSeries.withLockedValue { $0[key] }
            ?? {
                let made = RequestSeries(
                    count: registry.makeCounter(
                        descriptor: Self.name(
                            "requests", "total", "Requests answered, by listener, route template and status."),
                        labels: [("listener", listener.rawValue), ("route", route), ("status", String(status))]),
                    duration: registry.makeDurationHistogram(
                        descriptor: Self.name(
                            "request_duration", "seconds", "Time to answer a request, by listener and route."),
                        labels: [("listener", listener.rawValue), ("route", route)], buckets: Self.durationBuckets))
                requestSeries.withLockedValue { $0[key] = made }
                return made
            }()
        series.count.increment()
        series.duration.record(duration)
    }

    func refusal(listener: Listener, code: ErrorCode) {
        registry.makeCounter(
            descriptor: Self.name("refusals", "total", "Refused requests, by listener and error code."),
            labels: [("listener", listener.rawValue), ("code", code.rawValue)]
        ).increment()
    }

    func handshakeFailure(listener: Listener) {
        registry.makeCounter(
            descriptor: Self.name("tls_handshake_failures", "total", "TLS handshakes that failed, by listener."),
            labels: [("listener", listener.rawValue)]
        ).increment()
    }

    func outOfBandDelivery(sink: String, delivered: Bool) {
        registry.makeCounter(
            descriptor: Self.name("oob_deliveries", "total", "Out-of-band messages, by sink and result."),
            labels: [("sink", sink), ("result", delivered ? "delivered" : "failed")]
        ).increment()
    }

    func revoked() { revocations.increment() }

    func issuingCANotAfter(_ date: Date) { issuingNotAfter.set(date.timeIntervalSince1970) }

    /// The Prometheus text exposition of every series.
    public func exposition() -> String { registry.emitToString() }
}

/// Counts the deliveries of a sink by result.
struct MeteredSink: OutOfBandSink {
    let base: any OutOfBandSink
    let metrics: ServerMetrics

    var channel: String { base.channel }

    func deliver(_ message: OutOfBandMessage) async throws {
        do {
            try await base.deliver(message)
            metrics.outOfBandDelivery(sink: base.channel, delivered: true)
        } catch {
            metrics.outOfBandDelivery(sink: base.channel, delivered: false)
            throw error
        }
    }
}

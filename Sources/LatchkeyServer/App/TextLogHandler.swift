import Logging

/// The text log format (swift-log's `StreamLogHandler` on standard error), with metadata kept as given and rendered
/// only when a line is written.
///
/// `StreamLogHandler` renders its metadata text each time a key is set; Hummingbird sets the request id on every
/// request, which made that rendering 5% of the server's time under perf on keep-alive requests even when nothing
/// was logged. Guarantees: the lines written are `StreamLogHandler`'s own.
public struct TextLogHandler: LogHandler {
    private var stream: StreamLogHandler
    public var metadata: Logger.Metadata = [:]

    public init(label: String) {
        stream = StreamLogHandler.standardError(label: label)
    }

    public var logLevel: Logger.Level {
        get { stream.logLevel }
        set { stream.logLevel = newValue }
    }

    public var metadataProvider: Logger.MetadataProvider? {
        get { stream.metadataProvider }
        set { stream.metadataProvider = newValue }
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var stream = self.stream
        stream.metadata = metadata
        stream.log(event: event)
    }
}

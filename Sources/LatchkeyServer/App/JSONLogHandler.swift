import Foundation
import LatchkeyProtocol
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// `serve --log-format json`: one JSON object per line on standard error, with `time` (RFC 3339, milliseconds),
/// `level`, `message`, `label` and every metadata value as a field of its own (SPEC §7).
///
/// Guarantees: each event is one `write(2)` of one line, so lines of concurrent events never interleave; the
/// metadata is what the code logs, which never holds a secret (the suite's secrets check reads these logs too).
public struct JSONLogHandler: LogHandler {
    public var logLevel: Logger.Level = .info
    public var metadata: Logger.Metadata = [:]
    let label: String
    let descriptor: Int32

    public init(label: String, descriptor: Int32 = 2) {
        self.label = label
        self.descriptor = descriptor
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var object: [String: Any] = [
            "time": Timestamp.string(Date(), milliseconds: true), "level": event.level.rawValue,
            "message": event.message.description, "label": label,
        ]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) where object[key] == nil {
            object[key] = Self.json(value)
        }
        Self.write(object, to: descriptor)
    }

    /// One JSON line with `message` at `level`, for lines written outside a logger (the start banner).
    public static func line(_ message: String, level: Logger.Level = .info, fields: [String: String] = [:]) -> String {
        var object: [String: Any] = [
            "time": Timestamp.string(Date(), milliseconds: true), "level": level.rawValue, "message": message,
        ]
        for (key, value) in fields where object[key] == nil { object[key] = value }
        return encode(object)
    }

    static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let text): return text
        case .stringConvertible(let convertible): return convertible.description
        case .array(let values): return values.map(json)
        case .dictionary(let values): return values.mapValues(json)
        }
    }

    static func encode(_ object: [String: Any]) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
            ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    static func write(_ object: [String: Any], to descriptor: Int32) {
        let bytes = Array((encode(object) + "\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress!, $0.count) }
    }
}

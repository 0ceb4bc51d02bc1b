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

    /// Compact JSON with sorted keys, written by hand: Foundation's `JSONSerialization` made every logged request
    /// cost a third of the server's throughput.
    static func encode(_ object: [String: Any]) -> String {
        var out = ""
        out.reserveCapacity(256)
        append(object, to: &out)
        return out
    }

    static func append(_ value: Any, to out: inout String) {
        switch value {
        case let text as String: appendString(text, to: &out)
        case let object as [String: Any]:
            out.append("{")
            for (index, key) in object.keys.sorted().enumerated() {
                if index > 0 { out.append(",") }
                appendString(key, to: &out)
                out.append(":")
                append(object[key]!, to: &out)
            }
            out.append("}")
        case let array as [Any]:
            out.append("[")
            for (index, element) in array.enumerated() {
                if index > 0 { out.append(",") }
                append(element, to: &out)
            }
            out.append("]")
        default:
            appendString("\(value)", to: &out)
        }
    }

    static func appendString(_ text: String, to out: inout String) {
        out.append("\"")
        // Printable ASCII without quote or backslash (ids, serials, times) is copied whole: escaping scalar by scalar
        // was 8% of the server's time on keep-alive GET /v1/me under perf.
        if text.utf8.allSatisfy({ $0 >= 0x20 && $0 < 0x7F && $0 != 0x22 && $0 != 0x5C }) {
            out.append(text)
            out.append("\"")
            return
        }
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out.append("\\\"")
            case "\\": out.append("\\\\")
            case "\n": out.append("\\n")
            case "\r": out.append("\\r")
            case "\t": out.append("\\t")
            case _ where scalar.value < 0x20 || scalar.value == 0x7F || (0x80...0x9F).contains(scalar.value)
                || scalar.value == 0x2028 || scalar.value == 0x2029:
                let hex = String(scalar.value, radix: 16)
                out.append("\\u" + String(repeating: "0", count: 4 - hex.count) + hex)
            default: out.unicodeScalars.append(scalar)
            }
        }
        out.append("\"")
    }

    static func write(_ object: [String: Any], to descriptor: Int32) {
        let bytes = Array((encode(object) + "\n").utf8)
        _ = bytes.withUnsafeBytes { Glibc.write(descriptor, $0.baseAddress!, $0.count) }
    }
}

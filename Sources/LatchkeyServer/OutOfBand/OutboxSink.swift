import Foundation
import LatchkeyProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// The development sink: appends one JSON object per message to `outbox.jsonl` (SPEC §2).
///
/// Guarantees: each message is one `write(2)` of one line to a file opened with O_APPEND, so concurrent writers
/// (several tasks or several processes) never interleave lines. The file is created 0600: it holds live codes.
public struct OutboxSink: OutOfBandSink {
    public let path: String
    public let channel = "outbox"

    public init(path: String) {
        self.path = path
    }

    public func deliver(_ message: OutOfBandMessage) async throws {
        let line = Array((Self.line(message) + "\n").utf8)
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        guard fd >= 0 else { throw OutOfBandError("cannot open the outbox \(path)") }
        defer { close(fd) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
        guard written == line.count else { throw OutOfBandError("cannot append to the outbox \(path)") }
    }

    /// The JSON object of a message, keys sorted, written by hand (`JSONSerialization` with sorted keys was 6% of an
    /// enrollment completion's time under perf).
    static func line(_ message: OutOfBandMessage) -> String {
        var out = "{\"body\":"
        JSONLogHandler.appendString(message.body, to: &out)
        out += ",\"channel\":\"sms\",\"code\":"
        if let code = message.code {
            JSONLogHandler.appendString(code, to: &out)
        } else {
            out += "null"
        }
        out += ",\"kind\":"
        JSONLogHandler.appendString(message.kind.rawValue, to: &out)
        out += ",\"time\":"
        JSONLogHandler.appendString(Timestamp.string(message.time, milliseconds: true), to: &out)
        out += ",\"to\":"
        JSONLogHandler.appendString(message.to, to: &out)
        out += "}"
        return out
    }
}

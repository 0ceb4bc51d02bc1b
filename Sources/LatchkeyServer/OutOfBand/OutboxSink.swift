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
        var object: [String: Any] = [
            "time": Timestamp.string(message.time, milliseconds: true), "channel": "sms", "to": message.to,
            "body": message.body,
            "kind": message.kind.rawValue,
        ]
        object["code"] = message.code ?? NSNull()
        var line = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        line.append(0x0A)
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        guard fd >= 0 else { throw OutOfBandError("cannot open the outbox \(path)") }
        defer { close(fd) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
        guard written == line.count else { throw OutOfBandError("cannot append to the outbox \(path)") }
    }
}

import Foundation
import LatchkeyProtocol
import LatchkeyStore
import Logging
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#endif

/// Checkpoints of the audit chain's head kept outside the database, in `DATA_DIR/audit-checkpoints.jsonl` (one JSON
/// object per line: `sequence`, `hash`, `time`), for the operator to ship elsewhere as well.
///
/// Guarantees: each line is appended with one `write(2)` to a file opened O_APPEND and created 0600. A checkpoint
/// names an event by its keyed hash, which nobody without the audit key can make, so `audit verify` reports any
/// later removal of that event or the events before it (truncation, moving the head back).
public struct AuditCheckpointFile: Sendable {
    public let path: String

    public init(path: String) {
        self.path = path
    }

    /// Appends a checkpoint.
    public func append(_ checkpoint: AuditChain.Checkpoint) throws {
        let stamped = AuditChain.Checkpoint(
            sequence: checkpoint.sequence, hash: checkpoint.hash,
            time: checkpoint.time ?? Timestamp.string(Date(), milliseconds: true))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        var line = try encoder.encode(stamped)
        line.append(0x0A)
        let fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o600)
        guard fd >= 0 else { throw AuditCheckpointError("cannot open \(path)") }
        defer { close(fd) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress!, $0.count) }
        guard written == line.count else { throw AuditCheckpointError("cannot append to \(path)") }
    }

    /// Every checkpoint in the file (none if it does not exist); a line that does not parse is an error.
    public func read() throws -> [AuditChain.Checkpoint] {
        guard FileManager.default.fileExists(atPath: path) else { return [] }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw AuditCheckpointError("cannot read \(path)")
        }
        return try data.split(separator: 0x0A).enumerated().map { index, line in
            do {
                return try JSONDecoder().decode(AuditChain.Checkpoint.self, from: Data(line))
            } catch {
                throw AuditCheckpointError("line \(index + 1) of \(path) is not a checkpoint")
            }
        }
    }
}

/// A checkpoint file that cannot be read or written.
public struct AuditCheckpointError: Error, Sendable, CustomStringConvertible {
    public let message: String
    public var description: String { message }
    init(_ message: String) { self.message = message }
}

/// Writes a checkpoint of the audit head every `interval` while it moves, and once at shutdown.
///
/// Guarantees: one cheap read of the head row per interval; a new line only when the head changed; a failure is
/// logged and retried at the next interval, never stops the server.
actor AuditCheckpointWriter: Service {
    let store: any LatchkeyStore
    let file: AuditCheckpointFile
    let interval: Duration
    let logger: Logger
    private var last: AuditChain.Checkpoint?

    init(store: any LatchkeyStore, file: AuditCheckpointFile, interval: Duration = .seconds(1), logger: Logger) {
        self.store = store
        self.file = file
        self.interval = interval
        self.logger = logger
    }

    func checkpoint() async {
        do {
            let head = try await store.auditHead()
            guard head.sequence > 0, head != last else { return }
            try file.append(head)
            last = head
        } catch {
            logger.warning("could not write an audit checkpoint", metadata: ["file": "\(file.path)"])
        }
    }

    func run() async throws {
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            await checkpoint()
            try? await cancelWhenGracefulShutdown { [interval] in try await Task.sleep(for: interval) }
        }
        await checkpoint()
    }
}

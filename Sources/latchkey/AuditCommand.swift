import ArgumentParser
import Foundation
import LatchkeyCommandLine
import LatchkeyServer
import LatchkeyStore

/// `latchkey audit verify|checkpoint`: check the audit trail offline, and keep its head outside the database.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Check the audit trail.",
        subcommands: [AuditVerifyCommand.self, AuditCheckpointCommand.self])
}

struct AuditVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract:
            "Verify the keyed audit chain, its checkpoints, every stored request signature, and the money tables.",
        discussion: """
            Checkpoints come from DATA_DIR/audit-checkpoints.jsonl (written by `serve` and `audit checkpoint`) and \
            from every --checkpoints FILE (copies shipped elsewhere). Exit status 1 with one line per problem if \
            anything fails.
            """)
    @OptionGroup var data: DataDirectoryOptions
    @Option(name: .customLong("checkpoints"), help: "Another checkpoint file (JSON lines) to check against.")
    var checkpointFiles: [String] = []

    func run() async throws {
        var checkpoints = try AuditCheckpointFile(path: data.directory.auditCheckpointsPath).read()
        for file in checkpointFiles {
            guard FileManager.default.fileExists(atPath: file) else { throw CommandFailure("no such file \(file)") }
            checkpoints += try AuditCheckpointFile(path: file).read()
        }
        let authority = try data.directory.loadAuthority()
        let key = try ServerKeys.audit(authority)
        let report = try await withStore(data) {
            try await AuditVerifier(store: $0, key: key, issuing: authority.issuing, checkpoints: checkpoints).verify()
        }
        guard report.isIntact else {
            var lines = report.breaks.map(\.description)
            lines += report.moneyProblems.map { "money tables: " + $0 }
            FileHandle.standardError.write(Data((lines.dropLast().map { "latchkey: " + $0 + "\n" }).joined().utf8))
            throw CommandFailure(lines.last ?? "the audit trail does not verify")
        }
        let signatures = report.signaturesChecked == 1 ? "request signature" : "request signatures"
        print(
            "audit trail verified: \(report.events) events, \(report.signaturesChecked) \(signatures), \(checkpoints.count) checkpoints, \(report.transfersChecked) transfers and \(report.accountsChecked) balances"
        )
    }
}

struct AuditCheckpointCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "checkpoint",
        abstract: "Record the audit chain's head outside the database and print it.",
        discussion: """
            Appends the head to DATA_DIR/audit-checkpoints.jsonl (and to --out FILE) and prints it as one JSON \
            line. Ship these lines somewhere the database's users cannot write: `audit verify --checkpoints FILE` \
            then reports any event removed since.
            """)
    @OptionGroup var data: DataDirectoryOptions
    @Option(help: "Also append the checkpoint to this file.") var out: String?

    func run() async throws {
        let head = try await withStore(data) { try await $0.auditHead() }
        let stamped = AuditChain.Checkpoint(
            sequence: head.sequence, hash: head.hash, time: ISO8601DateFormatter().string(from: Date()))
        try AuditCheckpointFile(path: data.directory.auditCheckpointsPath).append(stamped)
        if let out { try AuditCheckpointFile(path: out).append(stamped) }
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        print(String(decoding: try encoder.encode(stamped), as: UTF8.self))
    }
}

import ArgumentParser
import Foundation
import LatchkeyServer

/// `latchkey audit verify`: check the audit trail offline.
struct AuditCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "audit", abstract: "Check the audit trail.", subcommands: [AuditVerifyCommand.self])
}

struct AuditVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify the audit hash chain and every stored request signature against the stored certificates.",
        discussion: "Exit status 1 and the sequence number of the first broken event if anything fails.")
    @OptionGroup var data: DataDirectoryOptions

    func run() async throws {
        let report = try await withStore(data) { try await AuditVerifier(store: $0).verify() }
        if let broken = report.firstBreak { throw CommandFailure(broken.description) }
        print("audit trail verified: \(report.events) events, \(report.signaturesChecked) request signatures")
    }
}

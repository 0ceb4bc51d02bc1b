import ArgumentParser
import Foundation
import LatchkeyCommandLine
import LatchkeyServer
import LatchkeyStore

/// `latchkey device ...`: enrolled devices and revocation.
struct DeviceCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "device", abstract: "List and revoke devices.",
        subcommands: [DeviceListCommand.self, DeviceRevokeCommand.self])
}

struct DeviceListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List devices, of one user or all.")
    @OptionGroup var data: DataDirectoryOptions
    @Option(help: "Only this user's devices.") var user: String?

    func run() async throws {
        let rows = try await withStore(data) { store -> [(DeviceRecord, String)] in
            var names: [String: String] = [:]
            for record in try await store.users() { names[record.id] = record.username }
            var userID: String?
            if let user {
                guard let record = try await store.user(username: user) else { throw CommandFailure("no user \(user)") }
                userID = record.id
            }
            return try await store.devices(userID: userID).map { ($0, names[$0.userID] ?? $0.userID) }
        }
        let formatter = ISO8601DateFormatter()
        print("DEVICE_ID\tUSER\tNAME\tSTATUS\tENROLLED_AT\tLAST_SEEN_AT")
        for (device, username) in rows {
            print(
                "\(device.id)\t\(username)\t\(device.name)\t\(device.status)\t\(formatter.string(from: device.enrolledAt))\t\(device.lastSeenAt.map { formatter.string(from: $0) } ?? "-")"
            )
        }
    }
}

struct DeviceRevokeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revoke",
        abstract: "Revoke a device and all its certificates; every server instance refuses it at once.")
    @OptionGroup var data: DataDirectoryOptions
    @Argument(help: "The device id.") var deviceID: String
    @Option(help: "Why (kept in the audit trail).") var reason = "revoked by operator"

    func run() async throws {
        let changed = try await withStore(data) { store in
            try await DeviceRevocation(store: store).revoke(deviceID: deviceID, actor: "operator", reason: reason)
        }
        print(changed ? "revoked \(deviceID)" : "\(deviceID) was already revoked")
    }
}

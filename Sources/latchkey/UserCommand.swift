import ArgumentParser
import Foundation
import LatchkeyCommandLine
import LatchkeyServer
import LatchkeyStore

/// `latchkey user ...`: accounts that may enroll devices.
struct UserCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "user", abstract: "Add and list users.",
        subcommands: [UserAddCommand.self, UserListCommand.self, UserResetCommand.self])
}

struct UserAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "add", abstract: "Add a user (two demo EUR accounts of 1000.00 come with it).")

    @OptionGroup var data: DataDirectoryOptions
    @Option var username: String
    @Option(help: "The phone number on file, E.164 (+15555550100): one-time codes go there.") var phone: String
    @Option var email: String?
    @Flag(name: .customLong("password-stdin"), help: "Read the password from the first line of standard input.")
    var passwordStdin = false
    @Option(
        name: .customLong("bcrypt-cost"),
        help: "bcrypt cost, 10 to 14; the server rehashes at its own --bcrypt-cost at the first login.")
    var bcryptCost = 11

    func validate() throws {
        guard passwordStdin else {
            throw ValidationError("--password-stdin is required: passwords are never taken as arguments")
        }
        guard UserAdministration.allowedBcryptCosts.contains(bcryptCost) else {
            throw ValidationError("--bcrypt-cost must be 10 to 14")
        }
    }

    func run() async throws {
        guard let password = readLine(strippingNewline: true), !password.isEmpty else {
            throw CommandFailure("no password on standard input")
        }
        let user = try await withStore(data) { store in
            try await UserAdministration(store: store, bcryptCost: bcryptCost).addUser(
                username: username, phone: phone, email: email, password: password)
        }
        print("added user \(user.username) (\(user.id))")
    }
}

struct UserListCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List users.")
    @OptionGroup var data: DataDirectoryOptions

    func run() async throws {
        let users = try await withStore(data) { try await $0.users() }
        print("USERNAME\tID\tPHONE\tSTATUS\tWRONG_CODES")
        for user in users {
            print("\(user.username)\t\(user.id)\t\(user.phone)\t\(user.status.rawValue)\t\(user.failedCodeAttempts)")
        }
    }
}

struct UserResetCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "reset-codes",
        abstract: "Clear a user's counts of wrong one-time codes and failed passwords (after either locked enrollment).")
    @OptionGroup var data: DataDirectoryOptions
    @Option var username: String

    func run() async throws {
        let authority = try data.directory.loadAuthority()
        try await withStore(data) { store in
            try await UserAdministration.resetLimits(username: username, store: store, authority: authority)
        }
        print("reset wrong-code and failed-password counts of \(username)")
    }
}

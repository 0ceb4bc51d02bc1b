import ArgumentParser
import Foundation
import LatchkeyPKI
import LatchkeyServer
import LatchkeyStore
import Logging

/// Runs a command line with the exit statuses of SPEC §1: 0 success, 1 refused or failed (one line on stderr),
/// 2 bad usage. Shared by `latchkey` and `latchkey-bench`.
package enum CommandEntry {
    package static func run<Root: ParsableCommand>(_ root: Root.Type) async -> Never {
        let command: ParsableCommand
        do {
            command = try Root.parseAsRoot()
        } catch {
            let status = Root.exitCode(for: error)
            let message = Root.fullMessage(for: error)
            if status == .success {
                print(message)
                exit(0)
            }
            FileHandle.standardError.write(Data((message + "\n").utf8))
            exit(2)
        }
        do {
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var syncCommand = command
                try syncCommand.run()
            }
        } catch let status as ExitCode {
            exit(status.rawValue)
        } catch where Root.exitCode(for: error) == .success {
            print(Root.fullMessage(for: error))
            exit(0)
        } catch where Root.exitCode(for: error) == .validationFailure {
            FileHandle.standardError.write(Data((Root.fullMessage(for: error) + "\n").utf8))
            exit(2)
        } catch {
            FileHandle.standardError.write(
                Data(((Root.configuration.commandName ?? "latchkey") + ": " + CommandFailure.describe(error) + "\n").utf8))
            exit(1)
        }
        exit(0)
    }
}

/// A refused or failed operation of the command line, reported as one line on stderr with exit status 1.
package struct CommandFailure: Error {
    package let message: String

    package init(_ message: String) { self.message = message }

    /// One line that says what failed, without secrets.
    package static func describe(_ error: Error) -> String {
        switch error {
        case let failure as CommandFailure: return failure.message
        case let pki as PKIError: return pki.message + " (\(pki.code.rawValue))"
        case let store as StoreError: return store.message + " (\(store.code.rawValue))"
        case let refusal as UserAdministration.Refusal: return refusal.message
        case let oob as OutOfBandError: return oob.message
        default: return String(describing: error).split(separator: "\n").first.map(String.init) ?? "failed"
        }
    }
}

/// The data directory option shared by every server-side command.
package struct DataDirectoryOptions: ParsableArguments {
    package init() {}

    @Option(
        name: .customLong("data-dir"),
        help: "The data directory (default: $LATCHKEY_DATA_DIR or ./latchkey-data).")
    package var dataDir: String?

    @Option(
        help:
            "The database: sqlite:PATH (default sqlite:DATA_DIR/latchkey.sqlite) or postgres://user:pass@host:port/db.")
    package var database: String?

    package var directory: DataDirectory {
        DataDirectory(path: dataDir ?? ProcessInfo.processInfo.environment["LATCHKEY_DATA_DIR"] ?? "./latchkey-data")
    }

    /// The `--database` URL, or the data directory's SQLite file.
    package func databaseURL() throws -> DatabaseURL {
        if let database { return try DatabaseURL(database) }
        return .sqlite(path: directory.databasePath)
    }

    /// Opens the store the running server uses; the data directory must hold the CA (the audit chain's key is
    /// derived from it).
    package func openStore() async throws -> SQLStore {
        let url = try databaseURL()
        guard directory.hasAuthority else {
            throw CommandFailure(
                "no CA in the data directory \(directory.path) (run `latchkey serve` or `latchkey ca init` first)")
        }
        let authority = try directory.loadAuthority()
        var logger = Logger(label: "latchkey")
        logger.logLevel = .warning
        return try await SQLStore.open(url, logger: logger, auditKey: try ServerKeys.audit(authority))
    }
}

/// Runs `body` with the store and closes it whatever happens.
package func withStore<R>(_ options: DataDirectoryOptions, _ body: (SQLStore) async throws -> R) async throws -> R {
    let store = try await options.openStore()
    do {
        let result = try await body(store)
        try await store.close()
        return result
    } catch {
        try? await store.close()
        throw error
    }
}

import ArgumentParser
import Foundation
import LatchkeyCommandLine
import LatchkeyClient
import LatchkeyProtocol

/// `latchkey client ...`: act as one device, with its state in `--device-dir`.
struct ClientCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "client",
        abstract: "Act as one enrolled device (key 0600, certificate, chain, pins in --device-dir).",
        subcommands: [
            ClientEnrollCommand.self, ClientCallCommand.self, ClientRenewCommand.self, ClientStatusCommand.self,
        ])
}

struct DeviceDirectoryOptions: ParsableArguments {
    @Option(name: .customLong("device-dir"), help: "The device directory: key, certificate, chain, pins, URLs.")
    var deviceDir = "./latchkey-device"
}

/// Runs a client operation and reports a ClientError as one line, exit 1; `directory` names the device directory
/// in the message when no device is enrolled there.
func clientOperation<R>(directory: String? = nil, _ body: () async throws -> R) async throws -> R {
    do {
        return try await body()
    } catch ClientError.notEnrolled where directory != nil {
        throw CommandFailure(
            "no enrolled device in \(directory ?? "") (run `latchkey client enroll --device-dir \(directory ?? "")` first)")
    } catch let error as ClientError {
        throw CommandFailure(error.description)
    }
}

struct ClientEnrollCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "enroll",
        abstract:
            "Enroll this device: password, then the one-time code sent out of band, then a CSR of a key made here.",
        discussion: """
            Without --code the code is read after the start succeeded: from the terminal, or from standard input \
            (the line after the password with --password-stdin).
            """)
    @OptionGroup var device: DeviceDirectoryOptions
    @Option(help: "The enrollment URL, such as https://127.0.0.1:8443.") var server: String?
    @Option(name: .customLong("pin"), help: "A server pin, sha256/BASE64 (at least two: current and backup).")
    var pins: [String] = []
    @Option(help: "A client-config.json (replaces --server and --pin).") var config: String?
    @Option(help: "The account to enroll this device for.") var username: String
    @Option(name: .customLong("device-name"), help: "The name the account's device list shows (up to 64 bytes).")
    var deviceName = "cli"
    @Flag(name: .customLong("password-stdin"), help: "Read the password from the first line of standard input.")
    var passwordStdin = false
    @Option(help: "The one-time code, if already known.") var code: String?
    @Option(name: .customLong("pins-expire"), help: "A date (ISO 8601) after which the pins fail closed.")
    var pinsExpire: String?

    func validate() throws {
        if config == nil && (server == nil || pins.isEmpty) {
            throw ValidationError("give --config FILE, or --server URL with --pin (at least two)")
        }
        if let pinsExpire, ISO8601DateFormatter().date(from: pinsExpire) == nil {
            throw ValidationError("--pins-expire must be an ISO 8601 date such as 2027-01-01T00:00:00Z")
        }
    }

    func run() async throws {
        var enrollURL = server ?? ""
        var pinList = pins
        var chain: String?
        if let config {
            guard let data = FileManager.default.contents(atPath: config),
                let parsed = try? JSONDecoder().decode(ClientConfig.self, from: data)
            else { throw CommandFailure("cannot read the client config \(config)") }
            enrollURL = server ?? parsed.enrollURL
            pinList = pins.isEmpty ? parsed.pins : pins
            chain = parsed.caChain
        }
        let password: String
        if passwordStdin {
            guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                throw CommandFailure("no password on standard input")
            }
            password = line
        } else {
            guard let typed = getpass("password for \(username): ").map({ String(cString: $0) }), !typed.isEmpty else {
                throw CommandFailure("no password given")
            }
            password = typed
        }
        let givenCode = code
        let client = try await clientOperation {
            try await LatchkeyClient.enroll(
                directory: device.deviceDir, enrollURL: enrollURL, pins: pinList,
                pinsExpire: pinsExpire.flatMap { ISO8601DateFormatter().date(from: $0) }, caChain: chain,
                username: username, password: password, deviceName: deviceName
            ) { started in
                if let givenCode { return givenCode }
                FileHandle.standardError.write(
                    Data("a code was sent over \(started.channel) to \(started.destinationHint); code: ".utf8))
                guard let line = readLine(strippingNewline: true), !line.isEmpty else {
                    throw ClientError.invalid("no code given")
                }
                return line.trimmingCharacters(in: .whitespaces)
            }
        }
        let status = try await client.status()
        print(
            "enrolled device \(status.deviceID) (serial \(status.serial), valid until \(ISO8601DateFormatter().string(from: status.notAfter)))"
        )
    }
}

struct ClientCallCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "call",
        abstract: "Call the API over pinned mutual TLS; the body goes to stdout, the status line to stderr.",
        discussion: "Exit status 1 for a status of 400 or more. Endpoints that require a signature are signed anyway.")
    @OptionGroup var device: DeviceDirectoryOptions
    @Argument(help: "METHOD PATH, or PATH alone for GET.") var words: [String]
    @Option(help: "A JSON request body.") var data: String?
    @Flag(help: "Add an RFC 9421 signature over a fresh server nonce.") var sign = false

    func validate() throws {
        guard (1...2).contains(words.count) else { throw ValidationError("give [METHOD] PATH") }
        guard (words.last ?? "").hasPrefix("/") else { throw ValidationError("the path must start with /") }
    }

    func run() async throws {
        let method = words.count == 2 ? words[0].uppercased() : "GET"
        let path = words.last!
        let result = try await clientOperation(directory: device.deviceDir) {
            let client = try LatchkeyClient(directory: device.deviceDir)
            let response = try await client.call(
                method, path, body: data.map { Data($0.utf8) }, sign: sign ? true : nil)
            await client.close()
            return response
        }
        FileHandle.standardError.write(Data("HTTP \(result.status)\n".utf8))
        FileHandle.standardOutput.write(result.body)
        if !result.body.isEmpty && result.body.last != 0x0A { FileHandle.standardOutput.write(Data("\n".utf8)) }
        if result.status >= 400 { throw ExitCode(1) }
    }
}

struct ClientRenewCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "renew",
        abstract: "Renew now with a fresh key (the SDK does it by itself when a third of the lifetime is left).")
    @OptionGroup var device: DeviceDirectoryOptions

    func run() async throws {
        let status = try await clientOperation(directory: device.deviceDir) {
            let client = try LatchkeyClient(directory: device.deviceDir)
            try await client.renew()
            return try await client.status()
        }
        print(
            "renewed device \(status.deviceID): serial \(status.serial), valid until \(ISO8601DateFormatter().string(from: status.notAfter))"
        )
    }
}

struct ClientStatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status", abstract: "Show the device id, user, serial, expiry and pins.")
    @OptionGroup var device: DeviceDirectoryOptions

    func run() async throws {
        let status = try await clientOperation(directory: device.deviceDir) {
            try await LatchkeyClient(directory: device.deviceDir).status()
        }
        let formatter = ISO8601DateFormatter()
        print("device    \(status.deviceID)")
        print("user      \(status.username)")
        print("serial    \(status.serial)")
        print("expires   \(formatter.string(from: status.notAfter))")
        print("api       \(status.apiURL)")
        for pin in status.pins { print("pin       \(pin)") }
        if let expire = status.pinsExpire { print("pins end  \(formatter.string(from: expire)) (fail closed)") }
    }
}

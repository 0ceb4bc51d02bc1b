import Foundation

/// A user made for one test with `latchkey user add`, with a phone of its own so its codes can be told apart in a
/// shared outbox.
public struct TestUser: Sendable {
    public let username: String
    public let password: String
    public let phone: String

    public static func add(_ server: ServerProcess) throws -> TestUser {
        let username = "u" + UUID().uuidString.prefix(8).lowercased()
        let phone = "+1555" + String(UInt32.random(in: 1_000_000...9_999_999))
        let password = "pw-" + UUID().uuidString
        SecretLedger.record(password)
        let result = try server.latchkey(
            ["user", "add", "--username", username, "--phone", phone, "--password-stdin", "--bcrypt-cost", "10"],
            stdin: password + "\n")
        guard result.status == 0 else { throw ServerProcess.Failure(description: "user add: \(result.stderr)") }
        return TestUser(username: username, password: password, phone: phone)
    }
}

extension ServerProcess {
    /// Enrolls a device for `user` with `latchkey client enroll` (password and code on stdin); returns its directory.
    public func enrollWithCLI(_ user: TestUser) throws -> String {
        let device = try Shell.temporaryDirectory("cli-device")
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Shell.latchkeyBinary)
        process.arguments = [
            "client", "enroll", "--device-dir", device, "--config", dataDirectory + "/client-config.json",
            "--username", user.username, "--password-stdin",
        ]
        let input = Pipe()
        process.standardInput = input
        process.standardOutput = Pipe()
        process.standardError = Pipe()
        try process.run()
        input.fileHandleForWriting.write(Data((user.password + "\n").utf8))
        var code: String?
        for _ in 0..<100 where code == nil {
            code = try? self.code(to: user.phone)
            if code == nil { Thread.sleep(forTimeInterval: 0.1) }
        }
        input.fileHandleForWriting.write(Data(((code ?? "") + "\n").utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "latchkey client enroll exited with \(process.terminationStatus)")
        }
        SecretLedger.recordKey(atPath: device + "/device.key")
        return device
    }
}

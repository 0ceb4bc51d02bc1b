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
        let result = try server.latchkey(
            ["user", "add", "--username", username, "--phone", phone, "--password-stdin", "--bcrypt-cost", "10"],
            stdin: password + "\n")
        guard result.status == 0 else { throw ServerProcess.Failure(description: "user add: \(result.stderr)") }
        return TestUser(username: username, password: password, phone: phone)
    }
}

import Foundation
import LatchkeyProtocol
import LatchkeyStore
import NIOPosix

/// Creates users as operators do (`latchkey user add`, `serve --demo`), with their two demo accounts.
///
/// Guarantees: usernames are 1 to 64 of `a-z 0-9 . _ -`; phones are E.164; passwords are 8 to 1024 characters and
/// stored only as bcrypt hashes; every user gets two EUR accounts holding "1000.00" (SPEC §4).
public struct UserAdministration: Sendable {
    let store: any LatchkeyStore
    let passwords: PasswordHasher

    public init(store: any LatchkeyStore, bcryptCost: UInt8 = 11) {
        self.store = store
        self.passwords = PasswordHasher(cost: bcryptCost)
    }

    public static func isValidUsername(_ name: String) -> Bool {
        !name.isEmpty && name.utf8.count <= 64
            && name.utf8.allSatisfy { c in
                (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) || c == 0x2E || c == 0x5F || c == 0x2D
            }
    }

    public static func isValidPhone(_ phone: String) -> Bool {
        let digits = phone.dropFirst()
        return phone.hasPrefix("+") && (7...15).contains(digits.count) && digits.first != "0"
            && digits.allSatisfy { $0.isASCII && $0.isNumber }
    }

    /// Adds a user; throws `CommandFailure`-style `UserAdministration.Refusal` with a clear message.
    @discardableResult
    public func addUser(username: String, phone: String, email: String?, password: String) async throws -> UserRecord {
        guard Self.isValidUsername(username) else {
            throw Refusal("a username must be 1 to 64 characters of a-z, 0-9, '.', '_' or '-'")
        }
        guard Self.isValidPhone(phone) else { throw Refusal("the phone must be in E.164 form, such as +15555550100") }
        if let email, !(email.contains("@") && email.utf8.count <= 254 && !email.contains(" ")) {
            throw Refusal("the email address is not valid")
        }
        guard (8...1024).contains(password.count) else { throw Refusal("a password must be 8 to 1024 characters") }
        let hasher = passwords
        let hash = try await NIOThreadPool.singleton.runIfActive { hasher.hash(password) }
        let user = UserRecord(
            id: UUID().uuidString.lowercased(), username: username, passwordHash: hash, phone: phone, email: email,
            createdAt: Date())
        let accounts = ["Checking", "Savings"].map { name in
            AccountRecord(
                id: "acc-" + UUID().uuidString.lowercased().prefix(13), userID: user.id, name: name, currency: "EUR",
                balanceCents: Money.cents("1000.00")!)
        }
        do {
            try await store.createUser(user, accounts: accounts)
        } catch let error as StoreError where error.code == .usernameTaken {
            throw Refusal("the username '\(username)' is taken")
        }
        return user
    }

    /// A refused user operation.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public let message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }
}

import Foundation
import LatchkeyPKI
import LatchkeyProtocol
import LatchkeyStore
import NIOPosix

/// Creates users as operators do (`latchkey user add`, `serve --demo`), with their two demo accounts.
///
/// Guarantees: usernames are 1 to 64 of `a-z 0-9 . _ -`; phones are E.164; passwords are 8 to 1024 characters and
/// stored only as pre-hashed bcrypt hashes at a cost of 10 to 14; every user gets two EUR accounts holding
/// "1000.00" (SPEC §4), opened in the same transaction as the `user.created` audit event that records them.
public struct UserAdministration: Sendable {
    let store: any LatchkeyStore
    let passwords: PasswordHasher

    /// Refuses a bcrypt cost outside 10 to 14.
    public init(store: any LatchkeyStore, bcryptCost: Int = 11) throws {
        guard PasswordHasher.allowedCosts.contains(bcryptCost) else {
            throw Refusal("the bcrypt cost must be 10 to 14")
        }
        self.store = store
        self.passwords = PasswordHasher(cost: UInt8(bcryptCost))
    }

    /// The bcrypt costs accepted.
    public static var allowedBcryptCosts: ClosedRange<Int> { PasswordHasher.allowedCosts }

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
        let details = AuditDetails(
            username: username,
            accounts: accounts.map {
                .init(id: $0.id, userID: user.id, currency: $0.currency, balanceCents: $0.balanceCents)
            })
        do {
            try await store.createUser(
                user, accounts: accounts,
                audit: AuditEntry(
                    time: user.createdAt, actor: "operator", action: "user.created", subject: user.id,
                    detailsJSON: details.json))
        } catch let error as StoreError where error.code == .usernameTaken {
            throw Refusal("the username '\(username)' is taken")
        }
        return user
    }

    /// Clears a user's wrong-code count and the failed-password count of their name (the operator's reset after
    /// either limit locked enrollment).
    public static func resetLimits(username: String, store: any LatchkeyStore, authority: CertificateAuthority)
        async throws
    {
        guard let user = try await store.user(username: username) else { throw Refusal("no user \(username)") }
        try await store.resetCodeFailures(userID: user.id)
        let throttle = LoginThrottle(
            store: store, key: try ServerKeys.loginNames(authority), backoffAfter: 0, lockAfter: 0)
        try await throttle.clear(username: username)
    }

    /// A refused user operation.
    public struct Refusal: Error, Sendable, CustomStringConvertible {
        public let message: String
        public init(_ message: String) { self.message = message }
        public var description: String { message }
    }
}

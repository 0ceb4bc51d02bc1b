import Foundation
import HummingbirdBcrypt

/// Hashes and checks account passwords with bcrypt (hummingbird-auth).
///
/// Guarantees: passwords are never stored or logged; checking an unknown user costs the same bcrypt work as
/// checking a wrong password, so the two cannot be told apart by time.
struct PasswordHasher: Sendable {
    let cost: UInt8
    /// A hash of a random password, checked when the user does not exist.
    private let decoy: String

    init(cost: UInt8 = 11) {
        self.cost = cost
        self.decoy = Bcrypt.hash(UUID().uuidString, cost: cost)
    }

    func hash(_ password: String) -> String {
        Bcrypt.hash(password, cost: cost)
    }

    /// Checks `password` against `storedHash`, or against the decoy when there is no user.
    func verify(_ password: String, storedHash: String?) -> Bool {
        let matches = Bcrypt.verify(password, hash: storedHash ?? decoy)
        return storedHash != nil && matches
    }
}

import Crypto
import Foundation
import HummingbirdBcrypt

/// Hashes and checks account passwords with bcrypt (hummingbird-auth), pre-hashed with SHA-256.
///
/// Guarantees: passwords are never stored or logged. bcrypt reads at most 72 bytes and stops at the first NUL, so
/// every password is first hashed with SHA-256 and base64-encoded (44 ASCII bytes, no NUL): every byte of a password
/// counts, and `x\0\0\0` is not `x`. Hashes made before that (plain bcrypt) still verify, except for passwords that
/// bcrypt would truncate, and are replaced at the next correct login (``needsRehash(_:)``), as are hashes of another
/// cost. Checking an unknown user costs the same bcrypt work as checking a wrong password.
struct PasswordHasher: Sendable {
    /// The costs accepted anywhere (`serve` and `user add`): below 10 is too cheap to guess against, above 14 makes
    /// every login take seconds.
    static let allowedCosts: ClosedRange<Int> = 10...14
    /// The prefix of pre-hashed bcrypt hashes.
    static let prehashedPrefix = "lk-sha256:"

    let cost: UInt8
    /// A hash of a random password, checked when the user does not exist.
    private let decoy: String

    init(cost: UInt8 = 11) {
        self.cost = cost
        self.decoy = Self.prehashedPrefix + Bcrypt.hash(Self.prehash(UUID().uuidString), cost: cost)
    }

    func hash(_ password: String) -> String {
        Self.prehashedPrefix + Bcrypt.hash(Self.prehash(password), cost: cost)
    }

    /// Checks `password` against `storedHash`, or against the decoy when there is no user.
    func verify(_ password: String, storedHash: String?) -> Bool {
        guard let storedHash else {
            _ = Bcrypt.verify(Self.prehash(password), hash: String(decoy.dropFirst(Self.prehashedPrefix.count)))
            return false
        }
        if storedHash.hasPrefix(Self.prehashedPrefix) {
            return Bcrypt.verify(Self.prehash(password), hash: String(storedHash.dropFirst(Self.prehashedPrefix.count)))
        }
        // A plain bcrypt hash from before: a password bcrypt would cut short never matches it.
        let bcryptSafe = password.utf8.count <= 72 && !password.utf8.contains(0)
        let matches = Bcrypt.verify(bcryptSafe ? password : UUID().uuidString, hash: storedHash)
        return bcryptSafe && matches
    }

    /// Whether a stored hash should be replaced by one of this hasher (plain bcrypt, or another cost).
    func needsRehash(_ storedHash: String) -> Bool {
        guard storedHash.hasPrefix(Self.prehashedPrefix) else { return true }
        return Self.cost(of: String(storedHash.dropFirst(Self.prehashedPrefix.count))) != Int(cost)
    }

    /// The cost field of a `$2b$11$...` hash.
    static func cost(of bcryptHash: String) -> Int? {
        let parts = bcryptHash.split(separator: "$", omittingEmptySubsequences: true)
        guard parts.count >= 2 else { return nil }
        return Int(parts[1])
    }

    static func prehash(_ password: String) -> String {
        Data(SHA256.hash(data: Data(password.utf8))).base64EncodedString()
    }
}

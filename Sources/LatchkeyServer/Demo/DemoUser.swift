import Foundation
import LatchkeyPKI
import LatchkeyStore

/// The demo user of `serve --demo`: alice, phone +15555550100, with a generated password in a 0600 file.
enum DemoUser {
    static func ensure(store: any LatchkeyStore, directory: DataDirectory, bcryptCost: UInt8) async throws -> String {
        let path = directory.path + "/demo-credentials.txt"
        if try await store.user(username: "alice") != nil { return path }
        let password = EnrollmentAuthority.randomToken(bytes: 15)
        try await UserAdministration(store: store, bcryptCost: Int(bcryptCost)).addUser(
            username: "alice", phone: "+15555550100", email: "alice@example.com", password: password)
        try SecureFile.write("username=alice\npassword=\(password)\n", to: path, mode: 0o600, overwrite: true)
        return path
    }
}

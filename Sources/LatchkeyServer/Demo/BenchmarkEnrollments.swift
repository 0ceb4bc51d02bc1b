import Foundation
import LatchkeyPKI
import LatchkeyStore

/// Pending enrollments with known codes, written straight into the store, for measuring enrollment completions
/// (`latchkey-bench seed-enrollments`) without the bcrypt work and rate limits of the start step.
///
/// Guarantees: the enrollments belong to one user made for the purpose (`bench-enroller`, with a random password
/// nobody is told), and their codes are stored exactly as a real start stores them (keyed hash bound to the id), so
/// completing them runs the real completion path.
package enum BenchmarkEnrollments {
    package struct Seeded: Sendable {
        package let enrollmentID: String
        package let code: String
    }

    package static let username = "bench-enroller"

    package static func seed(
        count: Int, store: any LatchkeyStore, authority: CertificateAuthority, lifetime: TimeInterval = 600,
        now: Date = Date()
    ) async throws -> [Seeded] {
        let user: UserRecord
        if let existing = try await store.user(username: username) {
            user = existing
        } else {
            user = try await UserAdministration(store: store, bcryptCost: 10).addUser(
                username: username, phone: "+15555550199", email: nil,
                password: EnrollmentAuthority.randomToken(bytes: 24))
        }
        let codes = try OneTimeCode(authority: authority)
        var seeded: [Seeded] = []
        seeded.reserveCapacity(count)
        for index in 0..<count {
            let id = "enr-bench-" + EnrollmentAuthority.randomToken(bytes: 12)
            let code = codes.generate()
            try await store.createEnrollment(
                EnrollmentRecord(
                    id: id, userID: user.id, deviceName: "bench-\(index)", channel: "outbox",
                    destination: user.phone, codeHash: codes.hash(code: code, enrollmentID: id),
                    expiresAt: now.addingTimeInterval(lifetime), clientAddress: "bench", createdAt: now),
                audit: AuditEntry(time: now, actor: "bench", action: "enrollment.started", subject: id))
            seeded.append(Seeded(enrollmentID: id, code: code))
        }
        return seeded
    }
}

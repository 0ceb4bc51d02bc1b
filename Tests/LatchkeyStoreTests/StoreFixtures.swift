import Crypto
import Foundation
import LatchkeyStore
import LatchkeyTestSupport

/// The audit chain key of the test stores.
let testAuditKey = SymmetricKey(size: .bits256)

/// Opens `count` store instances on one fresh database of `kind`, runs `body`, and closes them whatever happens.
func withStores(
    _ kind: TestDatabases.Kind, count: Int = 1, _ body: ([SQLStore], String) async throws -> Void
) async throws {
    let url = try TestDatabases.fresh(kind)
    var stores: [SQLStore] = []
    do {
        for _ in 0..<count { stores.append(try await SQLStore.open(try DatabaseURL(url), auditKey: testAuditKey)) }
        try await body(stores, url)
    } catch {
        for store in stores { try? await store.close() }
        throw error
    }
    for store in stores { try await store.close() }
}

/// A date as the store keeps it (milliseconds).
func storedDate(_ date: Date = Date()) -> Date {
    Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded() / 1000)
}

func makeID(_ prefix: String) -> String { prefix + "-" + UUID().uuidString.lowercased() }

@discardableResult
func addUser(_ store: some LatchkeyStore, username: String? = nil) async throws -> UserRecord {
    let user = UserRecord(
        id: makeID("u"), username: username ?? makeID("name"), passwordHash: "$2b$12$hash", phone: "+15555550100",
        email: nil, createdAt: storedDate())
    try await store.createUser(user, accounts: [], audit: audit("user.created", user.id))
    return user
}

func addEnrollment(
    _ store: some LatchkeyStore, user: UserRecord, expiresIn: TimeInterval = 600, address: String = "127.0.0.1"
) async throws -> EnrollmentRecord {
    let enrollment = EnrollmentRecord(
        id: makeID("e"), userID: user.id, deviceName: "phone", channel: "outbox", destination: user.phone,
        codeHash: "keyed-hash", expiresAt: Date().addingTimeInterval(expiresIn), clientAddress: address,
        createdAt: Date())
    try await store.createEnrollment(enrollment, audit: audit("enrollment.started", enrollment.id))
    return enrollment
}

func deviceAndCertificate(user: UserRecord, deviceID: String = makeID("d")) -> (DeviceRecord, CertificateRecord) {
    let now = Date()
    return (
        DeviceRecord(id: deviceID, userID: user.id, name: "phone", enrolledAt: now),
        CertificateRecord(
            serial: UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: ""), deviceID: deviceID,
            notBefore: now, notAfter: now.addingTimeInterval(7 * 86_400), spkiSHA256: makeID("spki"), derBase64: "AA==")
    )
}

func audit(_ action: String, _ subject: String = "x") -> AuditEntry {
    AuditEntry(time: Date(), actor: "test", action: action, subject: subject, detailsJSON: "{\"k\":1}")
}

func storeError(_ body: () async throws -> Void) async -> StoreError? {
    do {
        try await body()
        return nil
    } catch let error as StoreError {
        return error
    } catch {
        return StoreError(.conflict, "unexpected: \(error)")
    }
}

import Foundation
import LatchkeyStore
import LatchkeyTestSupport
import Testing

/// Attested enrollment's state at the store (SPEC §6), on SQLite and PostgreSQL, with two store instances on one
/// database as two server instances would be.
@Suite struct AttestationStoreTests {
    func attestedDevice(user: UserRecord, keyID: String) -> (DeviceRecord, CertificateRecord) {
        let (plain, certificate) = deviceAndCertificate(user: user)
        let device = DeviceRecord(
            id: plain.id, userID: user.id, name: "phone", enrolledAt: plain.enrolledAt, assurance: "apple-app-attest",
            attestKeyID: keyID, attestPublicKey: "BASE64POINT")
        return (device, certificate)
    }

    @Test(arguments: TestDatabases.kinds)
    func assuranceAndChallengeAreStored(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind) { stores, _ in
            let user = try await addUser(stores[0])
            let enrollment = EnrollmentRecord(
                id: makeID("e"), userID: user.id, deviceName: "phone", channel: "outbox", destination: user.phone,
                codeHash: "h", expiresAt: Date().addingTimeInterval(600), clientAddress: nil, createdAt: Date(),
                attestationChallenge: "Y2hhbGxlbmdl")
            try await stores[0].createEnrollment(enrollment, audit: audit("enrollment.started"))
            #expect(try await stores[0].enrollment(id: enrollment.id)?.attestationChallenge == "Y2hhbGxlbmdl")
            let (device, certificate) = attestedDevice(user: user, keyID: makeID("k"))
            try await stores[0].completeEnrollment(
                id: enrollment.id, device: device, certificate: certificate, audit: audit("device.enrolled"), now: Date())
            let stored = try #require(try await stores[0].device(id: device.id))
            #expect(stored.assurance == "apple-app-attest" && stored.attestPublicKey == "BASE64POINT")
            let status = try #require(try await stores[0].certificateStatus(serial: certificate.serial))
            #expect(status.assurance == "apple-app-attest" && status.attestPublicKey == "BASE64POINT")
        }
    }

    /// A key id is enrolled once, also when two instances race, and also after the first device is revoked.
    @Test(arguments: TestDatabases.kinds)
    func aKeyIDIsEnrolledOnce(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind, count: 2) { stores, _ in
            let user = try await addUser(stores[0])
            let keyID = makeID("k")
            let outcomes = await withTaskGroup(of: StoreError?.self) { group in
                for index in 0..<8 {
                    let store = stores[index % 2]
                    let (device, certificate) = attestedDevice(user: user, keyID: keyID)
                    group.addTask {
                        await storeError {
                            try await store.addDevice(device, certificate: certificate, audit: audit("device.added"))
                        }
                    }
                }
                var outcomes: [StoreError?] = []
                for await outcome in group { outcomes.append(outcome) }
                return outcomes
            }
            #expect(outcomes.filter { $0 == nil }.count == 1)
            #expect(outcomes.compactMap { $0?.code }.allSatisfy { $0 == .attestationReused }, "\(outcomes)")
            let first = try #require(try await stores[0].devices(userID: user.id).first)
            _ = try await stores[0].revokeDevice(id: first.id, reason: "lost", audit: audit("device.revoked"), now: Date())
            let (again, certificate) = attestedDevice(user: user, keyID: keyID)
            let error = await storeError {
                try await stores[1].addDevice(again, certificate: certificate, audit: audit("device.added"))
            }
            #expect(error?.code == .attestationReused)
        }
    }

    /// The assertion counter only moves up, exactly once per value, across instances.
    @Test(arguments: TestDatabases.kinds)
    func theAssertionCounterAdvancesAtomically(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind, count: 2) { stores, _ in
            let user = try await addUser(stores[0])
            let (device, certificate) = attestedDevice(user: user, keyID: makeID("k"))
            try await stores[0].addDevice(device, certificate: certificate, audit: audit("device.added"))
            let accepted = await withTaskGroup(of: Bool.self) { group in
                for index in 0..<16 {
                    let store = stores[index % 2]
                    group.addTask { (try? await store.advanceAssertionCounter(deviceID: device.id, to: 5)) ?? false }
                }
                var count = 0
                for await ok in group where ok { count += 1 }
                return count
            }
            #expect(accepted == 1)
            let lower = try await stores[1].advanceAssertionCounter(deviceID: device.id, to: 4)
            #expect(lower == false)
            let higher = try await stores[1].advanceAssertionCounter(deviceID: device.id, to: 6)
            #expect(higher == true)
            #expect(try await stores[0].device(id: device.id)?.assertionCounter == 6)
            _ = try await stores[0].revokeDevice(id: device.id, reason: "lost", audit: audit("device.revoked"), now: Date())
            let revoked = try await stores[0].advanceAssertionCounter(deviceID: device.id, to: 7)
            #expect(revoked == false)
        }
    }
}

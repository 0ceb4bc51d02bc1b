import Foundation
import LatchkeyStore
import LatchkeyTestSupport
import Testing

/// One suite, run against every backend: SQLite always, PostgreSQL when configured (always in CI).
@Suite struct StoreConformanceTests {
    @Test(arguments: TestDatabases.kinds)
    func usersAreUniqueByUsername(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind) { stores, url in
            let store = stores[0]
            let user = try await addUser(store, username: "alice")
            #expect(try await store.user(username: "alice") == user)
            #expect(try await store.user(id: user.id)?.username == "alice")
            let error = await storeError { try await addUser(store, username: "alice") }
            #expect(error?.code == .usernameTaken)
            #expect(try await store.users().count == 1)
        }
    }

    @Test(arguments: TestDatabases.kinds)
    func migrationsAreIdempotentAndANewerDatabaseIsRefused(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind) { stores, url in
            let store = stores[0]
            let version = try await store.schemaVersion()
            try await addUser(store, username: "kept")
            let again = try await SQLStore.open(try DatabaseURL(url), auditKey: testAuditKey)
            #expect(try await again.schemaVersion() == version)
            #expect(try await again.user(username: "kept") != nil)
            try await again.close()
            try TestDatabases.execute(
                "INSERT INTO latchkey_migrations (version, applied_at) VALUES (\(version + 1), 0)", on: url)
            let error = await storeError { _ = try await SQLStore.open(try DatabaseURL(url), auditKey: testAuditKey) }
            #expect(error?.code == .databaseTooNew)
            #expect(error?.message.contains("not changed") == true)
        }
    }

    @Test(arguments: TestDatabases.kinds)
    func fiftyConcurrentWrongCodesLockAtTheLimit(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind, count: 2) { stores, url in
            let first = stores[0]
            let second = stores[1]
            let user = try await addUser(first)
            let enrollment = try await addEnrollment(first, user: user)
            let outcomes = await withTaskGroup(of: Result<WrongCodeOutcome, Error>.self) { group in
                for i in 0..<50 {
                    let store = i % 2 == 0 ? first : second
                    group.addTask {
                        do {
                            return .success(try await store.recordWrongCode(enrollmentID: enrollment.id, limit: 5))
                        } catch {
                            return .failure(error)
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            let counted = outcomes.compactMap { try? $0.get() }
            #expect(counted.count == 5)
            #expect(counted.map(\.attempts).sorted() == [1, 2, 3, 4, 5])
            #expect(counted.filter(\.locked).count == 1)
            for case .failure(let error) in outcomes {
                #expect((error as? StoreError)?.code == .enrollmentLocked)
            }
            let stored = try #require(try await first.enrollment(id: enrollment.id))
            #expect(stored.attempts == 5)
            #expect(stored.status == .locked)
            #expect(try await first.user(id: user.id)?.failedCodeAttempts == 5)
        }
    }

    @Test(arguments: TestDatabases.kinds)
    func twentyConcurrentCompletionsYieldOneDevice(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind, count: 2) { stores, url in
            let first = stores[0]
            let second = stores[1]
            let user = try await addUser(first)
            let enrollment = try await addEnrollment(first, user: user)
            let results = await withTaskGroup(of: StoreError?.self) { group in
                for i in 0..<20 {
                    let store = i % 2 == 0 ? first : second
                    group.addTask {
                        let (device, certificate) = deviceAndCertificate(user: user)
                        return await storeError {
                            try await store.completeEnrollment(
                                id: enrollment.id, device: device, certificate: certificate, audit: audit("enroll"),
                                now: Date())
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.filter { $0 == nil }.count == 1)
            #expect(results.compactMap { $0 }.allSatisfy { $0.code == .enrollmentUsed })
            let devices = try await first.devices(userID: user.id)
            #expect(devices.count == 1)
            #expect(try await first.certificates(deviceID: devices[0].id).count == 1)
            #expect(try await first.enrollment(id: enrollment.id)?.status == .completed)
        }
    }

    @Test(arguments: TestDatabases.kinds)
    func completionIsAllOrNothingAndChecksState(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind) { stores, url in
            let store = stores[0]
            let user = try await addUser(store)
            // A certificate whose serial collides with a stored one makes the transaction fail: nothing may remain.
            let first = try await addEnrollment(store, user: user)
            let (device1, certificate1) = deviceAndCertificate(user: user)
            try await store.completeEnrollment(
                id: first.id, device: device1, certificate: certificate1, audit: audit("enroll"), now: Date())
            let second = try await addEnrollment(store, user: user)
            let (device2, _) = deviceAndCertificate(user: user)
            let clash = CertificateRecord(
                serial: certificate1.serial, deviceID: device2.id, notBefore: Date(), notAfter: Date(), spkiSHA256: "0",
                derBase64: "AA==")
            let error = await storeError {
                try await store.completeEnrollment(
                    id: second.id, device: device2, certificate: clash, audit: audit("e"), now: Date())
            }
            #expect(error != nil)
            #expect(try await store.enrollment(id: second.id)?.status == .pending)
            #expect(try await store.device(id: device2.id) == nil)
            #expect(try await store.auditTrail().events.filter { $0.entry.action == "enroll" }.count == 1)

            let expired = try await addEnrollment(store, user: user, expiresIn: -1)
            let (device3, certificate3) = deviceAndCertificate(user: user)
            let expiredError = await storeError {
                try await store.completeEnrollment(
                    id: expired.id, device: device3, certificate: certificate3, audit: audit("e"), now: Date())
            }
            #expect(expiredError?.code == .enrollmentExpired)
            let missing = await storeError {
                try await store.completeEnrollment(
                    id: "nope", device: device3, certificate: certificate3, audit: audit("e"), now: Date())
            }
            #expect(missing?.code == .notFound)
        }
    }

    @Test(arguments: TestDatabases.kinds)
    func twentyConcurrentNonceConsumptionsYieldOneSuccess(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind, count: 2) { stores, url in
            let first = stores[0]
            let second = stores[1]
            let expiresAt = Date().addingTimeInterval(60)
            let outcomes = await withTaskGroup(of: NonceOutcome?.self) { group in
                for i in 0..<20 {
                    let store = i % 2 == 0 ? first : second
                    group.addTask {
                        try? await store.consumeNonce(value: "n1", deviceID: "d1", expiresAt: expiresAt, now: Date())
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { $0 == .consumed }.count == 1)
            #expect(outcomes.filter { $0 == .reused }.count == 19)
            // Consumed nonces are kept only until they expire.
            let later = Date().addingTimeInterval(720)
            let outcome = try await first.consumeNonce(
                value: "n2", deviceID: "d1", expiresAt: later.addingTimeInterval(60), now: later)
            #expect(outcome == .consumed)
            let kept = try TestDatabases.query("SELECT COUNT(*) FROM consumed_nonces", on: url)
            #expect(kept == "1")
        }
    }

    @Test(arguments: TestDatabases.kinds)
    func revocationIsSeenByAnotherInstanceAtOnce(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind, count: 2) { stores, url in
            let first = stores[0]
            let second = stores[1]
            let user = try await addUser(first)
            let enrollment = try await addEnrollment(first, user: user)
            let (device, certificate) = deviceAndCertificate(user: user)
            try await first.completeEnrollment(
                id: enrollment.id, device: device, certificate: certificate, audit: audit("enroll"), now: Date())
            let before = try #require(try await second.certificateStatus(serial: certificate.serial))
            #expect(before.deviceStatus == .active)
            #expect(before.certificateRevokedAt == nil)
            #expect(before.userID == user.id)
            #expect(try await first.revokeDevice(id: device.id, reason: "lost", audit: audit("revoke"), now: Date()))
            // No cache: the very next lookup through the other instance sees it.
            let after = try #require(try await second.certificateStatus(serial: certificate.serial))
            #expect(after.deviceStatus == .revoked)
            #expect(after.certificateRevokedAt != nil)
            #expect(
                try await second.revokeDevice(id: device.id, reason: "again", audit: audit("revoke"), now: Date())
                    == false)
            let missing = await storeError {
                _ = try await second.revokeDevice(id: "nope", reason: "x", audit: audit("r"), now: Date())
            }
            #expect(missing?.code == .notFound)
            #expect(try await second.device(id: device.id)?.revocationReason == "lost")
        }
    }

    @Test(arguments: TestDatabases.kinds)
    func concurrentRenewalsLeaveExactlyOneValidCertificate(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind, count: 2) { stores, url in
            let first = stores[0]
            let second = stores[1]
            let user = try await addUser(first)
            let enrollment = try await addEnrollment(first, user: user)
            let (device, certificate) = deviceAndCertificate(user: user)
            try await first.completeEnrollment(
                id: enrollment.id, device: device, certificate: certificate, audit: audit("enroll"), now: Date())
            await withTaskGroup(of: Void.self) { group in
                for i in 0..<10 {
                    let store = i % 2 == 0 ? first : second
                    group.addTask {
                        let renewed = deviceAndCertificate(user: user, deviceID: device.id).1
                        try? await store.storeRenewal(certificate: renewed, audit: audit("renew"), now: Date())
                    }
                }
            }
            let certificates = try await first.certificates(deviceID: device.id)
            #expect(certificates.count == 11)
            #expect(certificates.filter { $0.revokedAt == nil }.count == 1)
            #expect(try await first.certificateStatus(serial: certificate.serial)?.certificateRevokedAt != nil)
            _ = try await first.revokeDevice(id: device.id, reason: "lost", audit: audit("revoke"), now: Date())
            let refused = await storeError {
                try await first.storeRenewal(
                    certificate: deviceAndCertificate(user: user, deviceID: device.id).1, audit: audit("renew"),
                    now: Date())
            }
            #expect(refused?.code == .deviceRevoked)
        }
    }

    @Test(arguments: TestDatabases.kinds)
    func theAuditChainHoldsUnderConcurrentWritersAndReportsTampering(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind, count: 2) { stores, url in
            let first = stores[0]
            let second = stores[1]
            try await withThrowingTaskGroup(of: Void.self) { group in
                for i in 0..<40 {
                    let store = i % 2 == 0 ? first : second
                    group.addTask { try await store.appendAudit(audit("event-\(i)", "subject-\(i)")) }
                }
                try await group.waitForAll()
            }
            var trail = try await first.auditTrail()
            #expect(trail.events.count == 40)
            #expect(trail.headSequence == 40)
            #expect(AuditChain.verify(trail, key: testAuditKey).isEmpty)

            try TestDatabases.execute("UPDATE audit_events SET subject = 'forged' WHERE sequence = 17", on: url)
            trail = try await first.auditTrail()
            #expect(AuditChain.verify(trail, key: testAuditKey).map(\.sequence) == [17])

        }
        try await withStores(kind) { stores, cleanURL in
            let clean = stores[0]
            var trail = try await clean.auditTrail()
            for i in 0..<10 { try await clean.appendAudit(audit("e\(i)")) }
            try TestDatabases.execute("DELETE FROM audit_events WHERE sequence = 4", on: cleanURL)
            trail = try await clean.auditTrail()
            #expect(AuditChain.verify(trail, key: testAuditKey).first?.sequence == 4)
            try TestDatabases.execute("DELETE FROM audit_events WHERE sequence >= 4", on: cleanURL)
            trail = try await clean.auditTrail()
            #expect(AuditChain.verify(trail, key: testAuditKey).first?.sequence == 4)
        }
    }

    @Test(arguments: TestDatabases.kinds)
    func rateLimitCountsAndLastSeen(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind) { stores, url in
            let store = stores[0]
            let user = try await addUser(store)
            let hourAgo = Date().addingTimeInterval(-3600)
            for _ in 0..<3 { _ = try await addEnrollment(store, user: user, address: "10.0.0.9") }
            #expect(try await store.enrollmentWindow(userID: user.id, since: hourAgo).count == 3)
            let old = Date().addingTimeInterval(-7200)
            _ = try await store.recordEnrollmentAttempt(clientAddress: "10.0.0.9", at: old, since: old)
            for expected in 1...3 {
                let window = try await stores[expected % stores.count].recordEnrollmentAttempt(
                    clientAddress: "10.0.0.9", at: Date(), since: hourAgo)
                #expect(window.count == expected)
                #expect(window.oldest != nil)
            }
            #expect(
                try await store.recordEnrollmentAttempt(clientAddress: "10.0.0.8", at: Date(), since: hourAgo).count
                    == 1)
            #expect(try await store.enrollmentWindow(userID: user.id, since: Date().addingTimeInterval(60)).count == 0)

            let enrollment = try await addEnrollment(store, user: user)
            let (device, certificate) = deviceAndCertificate(user: user)
            try await store.completeEnrollment(
                id: enrollment.id, device: device, certificate: certificate, audit: audit("e"), now: Date())
            let seen = Date(timeIntervalSince1970: 2_000_000_000)
            try await store.recordLastSeen([device.id: seen])
            try await store.recordLastSeen([device.id: seen.addingTimeInterval(-100)])
            #expect(try await store.device(id: device.id)?.lastSeenAt == seen)
            try await store.resetCodeFailures(userID: user.id)
        }
    }
}

@Suite struct BankingConformanceTests {
    @Test(arguments: TestDatabases.kinds)
    func transfersDebitOnlyOwnAccountsAndNeverOverdraw(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind, count: 2) { stores, _ in
            let (first, second) = (stores[0], stores[1])
            let owner = UserRecord(
                id: makeID("u"), username: makeID("n"), passwordHash: "x", phone: "+15555550100", email: nil,
                createdAt: storedDate())
            let checking = AccountRecord(
                id: makeID("acc"), userID: owner.id, name: "Checking", currency: "EUR", balanceCents: 100_000)
            let savings = AccountRecord(
                id: makeID("acc"), userID: owner.id, name: "Savings", currency: "EUR", balanceCents: 100_000)
            try await first.createUser(owner, accounts: [checking, savings], audit: audit("user.created"))
            let other = try await addUser(first)
            #expect(try await first.accounts(userID: owner.id) == [checking, savings])

            func transfer(
                _ store: SQLStore, from: String, to: String, cents: Int64, currency: String = "EUR",
                user: String = owner.id
            ) async throws -> Int64 {
                try await store.transfer(
                    TransferRecord(
                        id: makeID("t"), userID: user, deviceID: "d", fromAccount: from, toAccount: to,
                        amountCents: cents, currency: currency, createdAt: Date()),
                    audit: audit("transfer"), idempotency: nil
                ).balanceCents
            }
            #expect(try await transfer(first, from: checking.id, to: savings.id, cents: 1_050) == 98_950)
            #expect(
                await storeError {
                    _ = try await transfer(first, from: checking.id, to: savings.id, cents: 1, user: other.id)
                }?.code == .accountNotOwned)
            #expect(
                await storeError {
                    _ = try await transfer(first, from: checking.id, to: savings.id, cents: 1, currency: "USD")
                }?.code == .currencyMismatch)
            #expect(
                await storeError {
                    _ = try await transfer(first, from: checking.id, to: savings.id, cents: 10_000_000)
                }?.code == .insufficientFunds)

            // 30 concurrent transfers of 40.00 from 989.50 through two instances: at most 24 succeed, never below 0.
            let results = await withTaskGroup(of: Bool.self) { group in
                for i in 0..<30 {
                    let store = i % 2 == 0 ? first : second
                    group.addTask {
                        (try? await transfer(store, from: checking.id, to: "DE89370400440532013000", cents: 4_000))
                            != nil
                    }
                }
                return await group.reduce(into: [Bool]()) { $0.append($1) }
            }
            let balances = try await first.accounts(userID: owner.id)
            let checkingNow = try #require(balances.first { $0.id == checking.id })
            #expect(results.filter { $0 }.count == 24)
            #expect(checkingNow.balanceCents == 98_950 - 24 * 4_000)
            #expect(balances.first { $0.id == savings.id }?.balanceCents == 101_050)
        }
    }
}

/// Following revocations (the identity cache's feed, issue 17).
@Suite struct RevocationFollowingTests {
    /// What a follower saw: announcements, and versions read.
    actor Seen {
        var announcements = 0
        var versions: [Int64] = []
        func announced() { announcements += 1 }
        func read(_ version: Int64) { versions.append(version) }
    }

    /// Waits up to 10 s for `condition`.
    func eventually(_ condition: () async -> Bool) async throws -> Bool {
        for _ in 0..<1000 {
            if await condition() { return true }
            try await Task.sleep(for: .milliseconds(10))
        }
        return false
    }

    /// A revocation committed by one instance is announced to another's follower without any read (PostgreSQL), and
    /// is seen by the follower's next read on every backend; a rolled-back revocation moves nothing.
    @Test(arguments: TestDatabases.kinds)
    func aRevocationIsAnnouncedAndRead(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind, count: 2) { stores, url in
            let user = try await addUser(stores[0])
            let (device, certificate) = deviceAndCertificate(user: user)
            try await stores[0].addDevice(device, certificate: certificate, audit: audit("add"))
            let seen = Seen()
            let reads = AsyncStream<Void>.makeStream()
            let follower = Task {
                try await stores[1].followRevocations(
                    readTimeout: .seconds(2), onAnnouncement: { Task { await seen.announced() } }
                ) { readVersion in
                    await seen.read(try await readVersion())
                    for await _ in reads.stream { await seen.read(try await readVersion()) }
                }
            }
            #expect(try await eventually { await seen.versions.count == 1 })
            let missing = await storeError {
                _ = try await stores[0].revokeDevice(id: "nope", reason: "x", audit: audit("r"), now: Date())
            }
            #expect(missing?.code == .notFound)
            #expect(try await stores[0].revokeDevice(id: device.id, reason: "lost", audit: audit("r"), now: Date()))
            if kind == .postgres {
                #expect(try await eventually { await seen.announcements == 1 }, "no announcement arrived")
            }
            reads.continuation.yield()
            #expect(try await eventually { await seen.versions.count == 2 })
            let versions = await seen.versions
            #expect(versions[1] == versions[0] + 1, "\(versions)")
            try await Task.sleep(for: .milliseconds(100))
            #expect(await seen.announcements == (kind == .postgres ? 1 : 0))
            reads.continuation.finish()
            try await follower.value
        }
    }

    /// PostgreSQL: when the listening connection is cut, following fails (announcements may have been lost), so the
    /// identity cache stops trusting memory.
    @Test(.enabled(if: TestDatabases.postgresServerURL != nil || TestDatabases.isCI))
    func aCutListenerEndsFollowing() async throws {
        try await withStores(.postgres) { stores, url in
            let reading = AsyncStream<Void>.makeStream()
            let follower = Task {
                try await stores[0].followRevocations(readTimeout: .seconds(2), onAnnouncement: {}) { readVersion in
                    _ = try await readVersion()
                    reading.continuation.yield()
                    try await Task.sleep(for: .seconds(30))
                }
            }
            for await _ in reading.stream { break }
            try TestDatabases.execute(
                """
                SELECT pg_terminate_backend(pid) FROM pg_stat_activity
                WHERE application_name LIKE 'latchkey-revocation-listener%' AND datname = current_database()
                """, on: url)
            let outcome = await follower.result
            guard case .failure(let error) = outcome else {
                Issue.record("following went on after its connection was cut")
                return
            }
            #expect((error as? StoreError)?.code == .databaseUnavailable, "\(error)")
        }
    }
}

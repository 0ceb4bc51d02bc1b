import Crypto
import Foundation
import LatchkeyStore
import LatchkeyTestSupport
import Testing

/// Regression tests of the outside review (issue 14) at the store, on both backends.
@Suite struct SecurityConformanceTests {
    /// Finding 4: an insider without the audit key cannot write events that verify (re-chaining, forging).
    @Test(arguments: TestDatabases.kinds)
    func eventsWrittenWithoutTheKeyDoNotVerify(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind) { stores, url in
            for i in 0..<5 { try await stores[0].appendAudit(audit("e\(i)")) }
            let insider = try await SQLStore.open(try DatabaseURL(url), auditKey: SymmetricKey(size: .bits256))
            try await insider.appendAudit(audit("forged"))
            try await insider.close()
            let trail = try await stores[0].auditTrail()
            #expect(AuditChain.verify(trail, key: testAuditKey).map(\.sequence) == [6])
        }
    }

    /// Finding 4: deleting the newest events and moving the head back verifies without checkpoints, and is
    /// reported with a checkpoint kept outside the database.
    @Test(arguments: TestDatabases.kinds)
    func truncationIsReportedAgainstACheckpoint(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind) { stores, url in
            let store = stores[0]
            for i in 0..<10 { try await store.appendAudit(audit("e\(i)")) }
            let checkpoint = try await store.auditHead()
            #expect(checkpoint.sequence == 10)
            let seventh = try #require(try await store.auditTrail().events.first { $0.sequence == 7 })
            try TestDatabases.execute("DELETE FROM audit_events WHERE sequence > 7", on: url)
            try TestDatabases.execute(
                "UPDATE audit_head SET sequence = 7, hash = '\(seventh.hash)' WHERE id = 1", on: url)
            let trail = try await store.auditTrail()
            #expect(AuditChain.verify(trail, key: testAuditKey).isEmpty)
            let breaks = AuditChain.verify(trail, key: testAuditKey, checkpoints: [checkpoint])
            #expect(breaks.map(\.sequence) == [10])
        }
    }

    /// Finding 3: the verifier reports every broken event, not only the first.
    @Test(arguments: TestDatabases.kinds)
    func everyBrokenEventIsReported(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind) { stores, url in
            for i in 0..<10 { try await stores[0].appendAudit(audit("e\(i)")) }
            try TestDatabases.execute("UPDATE audit_events SET subject = 'x2' WHERE sequence IN (3, 8)", on: url)
            let trail = try await stores[0].auditTrail()
            #expect(AuditChain.verify(trail, key: testAuditKey).map(\.sequence) == [3, 8])
        }
    }

    /// Finding 14: one key, one active device; a renewal cannot take another device's key.
    @Test(arguments: TestDatabases.kinds)
    func aKeyBelongsToOneActiveDevice(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind, count: 2) { stores, _ in
            let alice = try await addUser(stores[0])
            let mallory = try await addUser(stores[0])
            let (device, certificate) = deviceAndCertificate(user: alice)
            try await stores[0].addDevice(device, certificate: certificate, audit: audit("device.added"))
            let (theirs, copy) = deviceAndCertificate(user: mallory)
            let sameKey = CertificateRecord(
                serial: copy.serial, deviceID: theirs.id, notBefore: copy.notBefore, notAfter: copy.notAfter,
                spkiSHA256: certificate.spkiSHA256, derBase64: copy.derBase64)
            let enrollment = try await addEnrollment(stores[1], user: mallory)
            #expect(
                await storeError {
                    try await stores[1].completeEnrollment(
                        id: enrollment.id, device: theirs, certificate: sameKey, audit: audit("x"), now: Date())
                }?.code == .keyInUse)
            // Mallory's own device, then a renewal onto Alice's key.
            let (own, ownCertificate) = deviceAndCertificate(user: mallory)
            try await stores[1].addDevice(own, certificate: ownCertificate, audit: audit("device.added"))
            let (_, renewal) = deviceAndCertificate(user: mallory, deviceID: own.id)
            let stolen = CertificateRecord(
                serial: renewal.serial, deviceID: own.id, notBefore: renewal.notBefore, notAfter: renewal.notAfter,
                spkiSHA256: certificate.spkiSHA256, derBase64: renewal.derBase64)
            #expect(
                await storeError { try await stores[0].storeRenewal(certificate: stolen, audit: audit("r"), now: Date()) }?
                    .code == .keyInUse)
            // A renewal with its own key again is fine; once Alice's device is revoked its key is free.
            let (_, again) = deviceAndCertificate(user: mallory, deviceID: own.id)
            let sameOwnKey = CertificateRecord(
                serial: again.serial, deviceID: own.id, notBefore: again.notBefore, notAfter: again.notAfter,
                spkiSHA256: ownCertificate.spkiSHA256, derBase64: again.derBase64)
            try await stores[0].storeRenewal(certificate: sameOwnKey, audit: audit("r"), now: Date())
            _ = try await stores[0].revokeDevice(id: device.id, reason: "lost", audit: audit("rev"), now: Date())
            try await stores[1].completeEnrollment(
                id: enrollment.id, device: theirs, certificate: sameKey, audit: audit("x"), now: Date())
        }
    }

    /// Finding 6: the credit hits exactly one account or nothing moves; the destination's currency must match.
    @Test(arguments: TestDatabases.kinds)
    func aTransferCreditsExactlyOneAccountOrRollsBack(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind) { stores, _ in
            let store = stores[0]
            let owner = try await addUserWithAccounts(store, currencies: ["EUR", "USD"])
            let accounts = try await store.accounts(userID: owner.id)
            let eur = try #require(accounts.first { $0.currency == "EUR" })
            let usd = try #require(accounts.first { $0.currency == "USD" })
            func send(_ to: String) async -> StoreError? {
                await storeError {
                    _ = try await store.transfer(
                        TransferRecord(
                            id: makeID("t"), userID: owner.id, deviceID: "d", fromAccount: eur.id, toAccount: to,
                            amountCents: 500, currency: "EUR", createdAt: Date()),
                        audit: audit("transfer"), idempotency: nil)
                }
            }
            #expect(await send("acc-does-not-exist")?.code == .accountNotFound)
            #expect(await send(usd.id)?.code == .currencyMismatch)
            #expect(try await store.accounts(userID: owner.id) == accounts)
            #expect(try await store.moneyLedger().transfers.isEmpty)
        }
    }

    /// Finding 16: a repeat with the same Idempotency-Key moves nothing and returns the first transfer.
    @Test(arguments: TestDatabases.kinds)
    func aRepeatedIdempotencyKeyReturnsTheFirstTransfer(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind, count: 2) { stores, _ in
            let owner = try await addUserWithAccounts(stores[0], currencies: ["EUR"])
            let from = try #require(try await stores[0].accounts(userID: owner.id).first)
            let claim = IdempotencyClaim(key: "retry-1", requestSHA256: "aa")
            let outcomes = try await withThrowingTaskGroup(of: TransferOutcome.self) { group in
                for i in 0..<6 {
                    group.addTask {
                        try await stores[i % 2].transfer(
                            TransferRecord(
                                id: makeID("t"), userID: owner.id, deviceID: "d", fromAccount: from.id,
                                toAccount: "DE89370400440532013000", amountCents: 700, currency: "EUR",
                                createdAt: storedDate()),
                            audit: audit("transfer"), idempotency: claim)
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(outcomes.filter { !$0.replayed }.count == 1)
            #expect(Set(outcomes.map(\.transfer.id)).count == 1)
            #expect(Set(outcomes.map(\.balanceCents)) == [from.balanceCents - 700])
            #expect(try await stores[0].moneyLedger().transfers.count == 1)
            let other = IdempotencyClaim(key: "retry-1", requestSHA256: "bb")
            #expect(
                await storeError {
                    _ = try await stores[0].transfer(
                        TransferRecord(
                            id: makeID("t"), userID: owner.id, deviceID: "d", fromAccount: from.id,
                            toAccount: "DE89370400440532013000", amountCents: 900, currency: "EUR",
                            createdAt: Date()),
                        audit: audit("transfer"), idempotency: other)
                }?.code == .idempotencyKeyReused)
        }
    }

    /// Finding 12, after issue 17: unused nonces take no storage at all (they are MACs); consumed ones are deleted
    /// once expired, so hoarding or spending nonces cannot fill the database.
    @Test(arguments: TestDatabases.kinds)
    func consumedNoncesArePurgedOnceExpired(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind) { stores, url in
            let store = stores[0]
            let now = Date()
            for i in 0..<5 {
                let outcome = try await store.consumeNonce(
                    value: "n\(i)", deviceID: "d", expiresAt: now.addingTimeInterval(60), now: now)
                #expect(outcome == .consumed)
            }
            #expect(try TestDatabases.query("SELECT COUNT(*) FROM consumed_nonces", on: url) == "5")
            // Past its expiry (an instance whose clock is behind may still accept the nonce), the record is kept:
            // a replay is still a replay.
            let replay = try await store.consumeNonce(
                value: "n0", deviceID: "d", expiresAt: now.addingTimeInterval(60), now: now.addingTimeInterval(400))
            #expect(replay == .reused)
            let later = try await store.consumeNonce(
                value: "n5", deviceID: "d", expiresAt: now.addingTimeInterval(900), now: now.addingTimeInterval(700))
            #expect(later == .consumed)
            #expect(try TestDatabases.query("SELECT COUNT(*) FROM consumed_nonces", on: url) == "1")
        }
    }

    /// Finding 7: attempts are reserved before the password is checked, so concurrent ones see each other, across
    /// instances; failures are counted apart from attempts in flight, and cleared on success.
    @Test(arguments: TestDatabases.kinds)
    func loginAttemptsAreSharedByInstances(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind, count: 2) { stores, _ in
            let now = storedDate()
            let seen = try await withThrowingTaskGroup(of: Int.self) { group in
                for i in 0..<10 {
                    group.addTask { try await stores[i % 2].reserveLoginAttempt(key: "k", now: now).pending }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(seen.sorted() == Array(0..<10))
            try await stores[0].releaseLoginAttempt(key: "k")
            let failed = try await stores[1].recordLoginFailure(key: "k", now: now)
            #expect(failed.count == 1 && failed.lastFailure == now)
            // Reservations older than a minute are stale: the next attempt sees none in flight.
            let later = try await stores[0].reserveLoginAttempt(key: "k", now: now.addingTimeInterval(61))
            #expect(later.pending == 0 && later.count == 1)
            try await stores[0].clearLoginFailures(key: "k")
            #expect(try await stores[1].loginFailures(key: "k") == nil)
        }
    }
}

/// A user with one account per currency, each holding 1000.00.
func addUserWithAccounts(_ store: some LatchkeyStore, currencies: [String]) async throws -> UserRecord {
    let user = UserRecord(
        id: makeID("u"), username: makeID("n"), passwordHash: "x", phone: "+15555550100", email: nil,
        createdAt: storedDate())
    let accounts = currencies.map {
        AccountRecord(id: "acc-" + makeID($0.lowercased()), userID: user.id, name: $0, currency: $0, balanceCents: 100_000)
    }
    try await store.createUser(user, accounts: accounts, audit: audit("user.created", user.id))
    return user
}

/// Issue 17: a signed request's replay guard (nonce, App Attest counter) is spent in the transaction of its effect.
@Suite struct ReplayGuardConformanceTests {
    @Test(arguments: TestDatabases.kinds)
    func aSignedRequestSpendsItsGuardInTheTransactionOfItsEffect(_ kind: TestDatabases.Kind) async throws {
        try await withStores(kind, count: 2) { stores, _ in
            let owner = try await addUserWithAccounts(stores[0], currencies: ["EUR"])
            let (device, certificate) = deviceAndCertificate(user: owner)
            try await stores[0].addDevice(device, certificate: certificate, audit: audit("add"))
            let from = try #require(try await stores[0].accounts(userID: owner.id).first)
            func record(_ cents: Int64) -> TransferRecord {
                TransferRecord(
                    id: makeID("t"), userID: owner.id, deviceID: device.id, fromAccount: from.id,
                    toAccount: "DE89370400440532013000", amountCents: cents, currency: "EUR", createdAt: storedDate())
            }
            func replayGuard(_ nonce: String, counter: Int64? = nil) -> ReplayGuard {
                ReplayGuard(
                    nonce: nonce, deviceID: device.id, nonceExpiresAt: Date().addingTimeInterval(60), now: Date(),
                    assertionCounter: counter)
            }
            // Eight copies of one signed transfer, racing on two instances: exactly one moves money.
            let results = await withTaskGroup(of: StoreError?.self) { group in
                for i in 0..<8 {
                    group.addTask {
                        await storeError {
                            _ = try await stores[i % 2].transfer(
                                record(500), audit: audit("transfer"), idempotency: nil,
                                replayGuard: replayGuard("n-race"))
                        }
                    }
                }
                return await group.reduce(into: []) { $0.append($1) }
            }
            #expect(results.filter { $0 == nil }.count == 1)
            #expect(results.compactMap { $0?.code }.allSatisfy { $0 == .nonceReused })
            #expect(try await stores[1].moneyLedger().transfers.count == 1)
            // A refused transfer still spends its nonce: the same nonce cannot carry a good one afterwards.
            let refused = await storeError {
                _ = try await stores[0].transfer(
                    record(1_000_000_000), audit: audit("transfer"), idempotency: nil, replayGuard: replayGuard("n-poor"))
            }
            #expect(refused?.code == .insufficientFunds)
            let replayed = await storeError {
                _ = try await stores[1].transfer(
                    record(100), audit: audit("transfer"), idempotency: nil, replayGuard: replayGuard("n-poor"))
            }
            #expect(replayed?.code == .nonceReused)
            #expect(try await stores[0].accounts(userID: owner.id).first?.balanceCents == from.balanceCents - 500)
            // The App Attest counter moves with the transfer; a stale one moves no money, and its nonce is spent.
            _ = try await stores[0].transfer(
                record(100), audit: audit("transfer"), idempotency: nil, replayGuard: replayGuard("n-a", counter: 5))
            let stale = await storeError {
                _ = try await stores[1].transfer(
                    record(100), audit: audit("transfer"), idempotency: nil,
                    replayGuard: replayGuard("n-b", counter: 5))
            }
            #expect(stale?.code == .assertionCounterStale)
            #expect(try await stores[0].moneyLedger().transfers.count == 2)
            #expect(
                try await stores[0].consumeNonce(
                    value: "n-b", deviceID: device.id, expiresAt: Date().addingTimeInterval(60), now: Date())
                    == .reused)
            // Revocation: a refused one (no such device) spends its nonce too.
            let missing = await storeError {
                _ = try await stores[0].revokeDevice(
                    id: "nope", reason: "x", audit: audit("r"), now: Date(), replayGuard: replayGuard("n-gone"))
            }
            #expect(missing?.code == .notFound)
            #expect(
                try await stores[1].consumeNonce(
                    value: "n-gone", deviceID: device.id, expiresAt: Date().addingTimeInterval(60), now: Date())
                    == .reused)
            #expect(
                try await stores[1].revokeDevice(
                    id: device.id, reason: "lost", audit: audit("r"), now: Date(), replayGuard: replayGuard("n-r")))
            // A revoked device's signed request is refused at commit time, and moves nothing.
            let afterRevocation = await storeError {
                _ = try await stores[0].transfer(
                    record(100), audit: audit("transfer"), idempotency: nil, replayGuard: replayGuard("n-late"))
            }
            #expect(afterRevocation?.code == .deviceRevoked)
            #expect(try await stores[0].moneyLedger().transfers.count == 2)
        }
    }
}

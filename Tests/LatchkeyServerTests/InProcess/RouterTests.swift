import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyClient
import LatchkeyPKI
import LatchkeyProtocol
import LatchkeyServer
import LatchkeyStore
import LatchkeyTestSupport
import Testing
import X509

@testable import LatchkeyServer

/// Every route, every refusal and its status, through the composition root's applications in process (no sockets,
/// no sleeping: expiry moves the test clock). TLS, signals and many processes stay in the process tests.
@Suite struct RouterTests {
    // MARK: Scenarios (each also runs in `everyErrorCodeIsSentWithItsStatus`)

    static func enrollmentRoutes(_ c: Clients) async throws {
        let health = try await c.send(c.enroll, .get, "/v1/health")
        #expect(health.status == .ok && health.json?["status"] as? String == "ok")
        let ca = try await c.send(c.enroll, .get, "/v1/ca")
        #expect(ca.headers[.contentType] == "application/pem-certificate-chain")
        #expect(ca.text.components(separatedBy: "BEGIN CERTIFICATE").count == 3)
        let missing = try await c.send(c.enroll, .get, "/v1/nope")
        #expect(missing.code == .notFound)

        let user = try await c.server.addUser()
        #expect(try await c.send(c.enroll, .post, "/v1/enrollments", body: Data("{".utf8)).code == .badRequest)
        #expect(
            try await c.send(
                c.enroll, .post, "/v1/enrollments",
                body: Data("{\"username\":\"a\",\"username\":\"b\",\"password\":\"x\"}".utf8)
            ).code == .badRequest)
        #expect(
            try await c.send(
                c.enroll, .post, "/v1/enrollments", body: c.json(["username": "a", "password": "b", "extra": 1])
            ).code == .badRequest)
        let huge = Data(repeating: 0x20, count: (1 << 20) + 10)
        #expect(try await c.send(c.enroll, .post, "/v1/enrollments", body: huge).code == .bodyTooLarge)
        // An unknown user and a wrong password get the same answer.
        let wrongPassword = try await c.start((user.username, "wrong-password", user.phone))
        let unknownUser = try await c.start(("nobody-here", "wrong-password", user.phone))
        #expect(wrongPassword.code == .invalidCredentials && unknownUser.status == wrongPassword.status)
        #expect(wrongPassword.json?["message"] as? String == unknownUser.json?["message"] as? String)
        #expect(Set(wrongPassword.json?.keys ?? [:].keys) == Set(unknownUser.json?.keys ?? [:].keys))

        let started = try await c.start(user)
        #expect(started.status == .created)
        #expect(started.json?["destination_hint"] as? String == "+1******" + String(user.phone.suffix(4)))
        let id = try #require(started.json?["enrollment_id"] as? String)
        let key = DeviceKey(P256.Signing.PrivateKey())
        let csr = try key.makeCSR(deviceName: "phone")
        func complete(code: String, csr: String, id: String = id) async throws -> Answer {
            try await c.send(
                c.enroll, .post, "/v1/enrollments/\(id)/complete", body: c.json(["code": code, "csr": csr]))
        }
        #expect(try await complete(code: "12345678", csr: csr, id: "enr-unknown").code == .notFound)
        let code = try c.server.code(to: user.phone)
        #expect(try await complete(code: code, csr: "not a csr").code == .csrInvalid)
        var der = try #require(PEM.decode(csr)?.der)
        der[der.count - 2] ^= 0x01
        #expect(
            try await complete(code: code, csr: PEM.encode(der, label: "CERTIFICATE REQUEST")).code
                == .csrSignatureInvalid)
        let edwards = try CertificateSigningRequest(
            version: .v1, subject: try DistinguishedName { CommonName("x") },
            privateKey: Certificate.PrivateKey(Curve25519.Signing.PrivateKey()),
            attributes: CertificateSigningRequest.Attributes(), signatureAlgorithm: .ed25519)
        #expect(try await complete(code: code, csr: try edwards.serializeAsPEM().pemString).code == .csrKeyUnsupported)
        let wrong = code == "00000000" ? "11111111" : "00000000"
        #expect(try await complete(code: wrong, csr: csr).code == .codeInvalid)
        let completed = try await complete(code: code, csr: csr)
        #expect(completed.status == .created, "\(completed.text)")
        #expect(try await complete(code: code, csr: csr).code == .enrollmentUsed)

        // The same key for another user's device.
        let other = try await c.server.addUser()
        let second = try #require(try await c.start(other).json?["enrollment_id"] as? String)
        #expect(
            try await complete(code: try c.server.code(to: other.phone), csr: csr, id: second).code == .csrKeyInUse)
        // Five wrong codes lock it.
        var last: Answer?
        for _ in 0..<5 { last = try await complete(code: wrong, csr: csr, id: second) }
        #expect(last?.code == .enrollmentLocked)
        // Expiry, by moving the clock.
        let third = try #require(try await c.start(other).json?["enrollment_id"] as? String)
        c.server.clock.advance(by: 601)
        #expect(
            try await complete(code: try c.server.code(to: other.phone), csr: csr, id: third).code
                == .enrollmentExpired)
    }

    static func enrollmentRateLimit(_ c: Clients) async throws {
        let user = try await c.server.addUser()
        for _ in 0..<c.server.dependencies.settings.enrollLimitPerAccount { _ = try await c.start(user) }
        let limited = try await c.start(user)
        #expect(limited.code == .rateLimited)
        let retryAfter = try #require(limited.headers[.retryAfter].flatMap { Int($0) })
        #expect(retryAfter > 3000 && retryAfter <= 3600)
    }

    /// The outside review's race: wrong passwords sent all at once may not get more than the limit checked, and
    /// the refused ones do not count towards the lock.
    static func passwordBurst(_ c: Clients) async throws {
        let user = try await c.server.addUser()
        let settings = c.server.dependencies.settings
        let answers = try await withThrowingTaskGroup(of: Answer.self) { group in
            for attempt in 0..<30 {
                group.addTask { try await c.start((user.username, "burst-\(attempt)", user.phone)) }
            }
            return try await group.reduce(into: [Answer]()) { $0.append($1) }
        }
        let checked = answers.filter { $0.code == .invalidCredentials }.count
        #expect(checked <= settings.passwordBackoffAfter, "\(checked) passwords were checked")
        #expect(
            answers.filter { $0.code == .rateLimited }.count == 30 - checked,
            "\(answers.map { $0.code?.rawValue ?? String($0.status.code) })")
        let waiting = try await c.start(user)
        #expect(waiting.code == .rateLimited)
        c.server.clock.advance(by: 3601)
        #expect(try await c.start(user).status == .created)
    }

    static func passwordLimits(_ c: Clients) async throws {
        let user = try await c.server.addUser()
        let limit = c.server.dependencies.settings.passwordBackoffAfter
        for attempt in 0..<limit { _ = try await c.start((user.username, "wrong-\(attempt)", user.phone)) }
        let waiting = try await c.start(user)
        #expect(waiting.code == .rateLimited && waiting.headers[.retryAfter] != nil)
        c.server.clock.advance(by: 61)
        #expect(try await c.start(user).status == .created)
        for attempt in 0..<c.server.dependencies.settings.passwordLockAfter {
            c.server.clock.advance(by: 3601)
            _ = try await c.start((user.username, "wrong-\(attempt)", user.phone))
        }
        c.server.clock.advance(by: 3601)
        #expect(try await c.start(user).code == .accountLocked)
    }

    static func apiRoutes(_ c: Clients) async throws {
        let device = try await c.enrollDevice()
        let me = try await c.call(device, .get, "/v1/me")
        #expect(me.json?["device_id"] as? String == device.deviceID)
        #expect(try await c.send(c.api, .get, "/v1/me").code == .certificateUnknown)
        let bogus = InProcessDevice(key: device.key, certificateDER: Data("junk".utf8), deviceID: "x")
        #expect(try await c.call(bogus, .get, "/v1/me").code == .certificateUnknown)
        let devices = try await c.call(device, .get, "/v1/devices")
        #expect(devices.array?.first?["current"] as? Bool == true)

        // Renewal: the old certificate is revoked.
        let renewed = try await c.call(
            device, .post, "/v1/certificates/renew", body: c.json(["csr": try device.key.makeCSR(deviceName: "phone")]))
        #expect(renewed.status == .created, "\(renewed.text)")
        #expect(try await c.call(device, .get, "/v1/me").code == .certificateRevoked)
        let pem = try #require(renewed.json?["certificate"] as? String)
        let current = InProcessDevice(
            key: device.key, certificateDER: Data(PEM.decode(pem)?.der ?? []), deviceID: device.deviceID)

        // Signatures.
        let from = try #require(try await c.accounts(current).first?["id"] as? String)
        let body = try c.transferBody(from: from)
        #expect(try await c.call(current, .post, "/v1/transfers", body: body).code == .signatureMissing)
        #expect(try await c.signed(current, .post, "/v1/transfers", body: body, keyID: "dev-other").code == .signatureInvalid)
        #expect(try await c.signed(current, .post, "/v1/transfers", body: body, nonce: "made-up").code == .nonceInvalid)
        let nonce = try #require(try await c.call(current, .get, "/v1/nonce").json?["nonce"] as? String)
        #expect(try await c.signed(current, .post, "/v1/transfers", body: body, nonce: nonce).status == .created)
        #expect(try await c.signed(current, .post, "/v1/transfers", body: body, nonce: nonce).code == .nonceReused)
        // A refused signed request spends its nonce too, whether the store refused it in the transaction that spends
        // the nonce (insufficient funds) or the handler did before reaching the store (a bad amount): its nonce
        // cannot carry a good transfer afterwards, and no money moves.
        func balance() async throws -> String? {
            try await c.accounts(current).first { $0["id"] as? String == from }?["balance"] as? String
        }
        let before = try await balance()
        for (refused, code) in [
            (try c.transferBody(from: from, amount: "99999.00"), ErrorCode.insufficientFunds),
            (try c.transferBody(from: from, amount: "-1"), ErrorCode.badRequest),
        ] {
            let once = try #require(try await c.call(current, .get, "/v1/nonce").json?["nonce"] as? String)
            #expect(try await c.signed(current, .post, "/v1/transfers", body: refused, nonce: once).code == code)
            #expect(try await c.signed(current, .post, "/v1/transfers", body: body, nonce: once).code == .nonceReused)
        }
        #expect(try await balance() == before)
        let changed = try c.transferBody(from: from, amount: "900.00")
        #expect(try await c.signed(current, .post, "/v1/transfers", body: body, sentBody: changed).code == .digestMismatch)
        let stale = try #require(try await c.call(current, .get, "/v1/nonce").json?["nonce"] as? String)
        c.server.clock.advance(by: c.server.dependencies.settings.nonceLifetime + 1)
        #expect(try await c.signed(current, .post, "/v1/transfers", body: body, nonce: stale).code == .nonceInvalid)

        // Nonces are MACs of the server: one changed by a character, or one made for another device, is refused.
        let fresh = try #require(try await c.call(current, .get, "/v1/nonce").json?["nonce"] as? String)
        let flipped = String(fresh.dropLast()) + (fresh.last == "A" ? "B" : "A")
        #expect(try await c.signed(current, .post, "/v1/transfers", body: body, nonce: flipped).code == .nonceInvalid)
        let other = try await c.enrollDevice()
        let theirs = try #require(try await c.call(other, .get, "/v1/nonce").json?["nonce"] as? String)
        #expect(try await c.signed(current, .post, "/v1/transfers", body: body, nonce: theirs).code == .nonceInvalid)

        // Certificates expire with the clock.
        c.server.clock.advance(by: 8 * 86_400)
        #expect(try await c.call(current, .get, "/v1/me").code == .certificateExpired)
    }

    static func bankRoutes(_ c: Clients) async throws {
        let device = try await c.enrollDevice()
        let other = try await c.enrollDevice()
        let accounts = try await c.accounts(device)
        #expect(accounts.count == 2 && accounts.allSatisfy { $0["balance"] as? String == "1000.00" })
        let from = try #require(accounts.first?["id"] as? String)
        let theirs = try #require(try await c.accounts(other).first?["id"] as? String)
        func transfer(_ body: Data, covering: [(name: String, value: String)] = []) async throws -> Answer {
            try await c.signed(device, .post, "/v1/transfers", body: body, covering: covering)
        }
        #expect(try await transfer(c.transferBody(from: theirs)).code == .accountNotOwned)
        #expect(try await transfer(c.transferBody(from: from, to: "acc-missing")).code == .accountNotFound)
        #expect(try await transfer(c.transferBody(from: from, currency: "USD")).code == .currencyMismatch)
        #expect(try await transfer(c.transferBody(from: from, amount: "5000.00")).code == .insufficientFunds)
        #expect(try await transfer(c.transferBody(from: from, to: "DE89370400440532013001")).code == .ibanInvalid)
        #expect(try await transfer(c.transferBody(from: from, amount: "-1")).code == .badRequest)
        let own = try #require(accounts.last?["id"] as? String)
        let moved = try await transfer(c.transferBody(from: from, to: own, amount: "12.34"))
        #expect(moved.status == .created && moved.json?["balance"] as? String == "987.66", "\(moved.text)")
        #expect(try await transfer(c.json(["from": from, "to": own, "amount": 1.5, "currency": "EUR"])).code == .badRequest)
        #expect(try await c.accounts(device).last?["balance"] as? String == "1012.34")
        _ = try await transfer(c.transferBody(from: own, to: from, amount: "12.34"))
        let key = [(name: "Idempotency-Key", value: "k-1")]
        let retried = try c.transferBody(from: from, to: theirs, amount: "2.50")
        let first = try await transfer(retried, covering: key)
        let again = try await transfer(retried, covering: key)
        #expect(first.status == .created && first.json?["transfer_id"] as? String == again.json?["transfer_id"] as? String)
        #expect(try await transfer(c.transferBody(from: from, amount: "3.00"), covering: key).code == .idempotencyKeyReused)
        #expect(try await c.accounts(device).first?["balance"] as? String == "997.50")
        #expect(try await c.accounts(other).first?["balance"] as? String == "1002.50")

        // Revocation through the signed route: the device is refused from then on, and a device of another user
        // is not found.
        #expect(
            try await c.signed(device, .delete, "/v1/devices/\(other.deviceID)").code == .notFound)
        #expect(try await c.signed(device, .delete, "/v1/devices/\(device.deviceID)").status == .noContent)
        #expect(try await c.call(device, .get, "/v1/me").code == .deviceRevoked)
    }

    static func deliveryAndStoreFailures() async throws {
        let failing = try await InProcessServer.make(sink: { _ in OutboxSink(path: "/nonexistent-dir/outbox.jsonl") })
        try await failing.run { c in
            let user = try await c.server.addUser()
            let refused = try await c.start(user)
            #expect(refused.code == .oobDeliveryFailed)
        }
        let broken = try await InProcessServer.make()
        try await broken.run { c in
            let user = try await c.server.addUser()
            try TestDatabases.execute(
                "CREATE TRIGGER refuse BEFORE INSERT ON enrollments BEGIN SELECT RAISE(FAIL, 'disk full'); END",
                on: "sqlite:" + c.server.databasePath)
            let refused = try await c.start(user)
            #expect(refused.code == .serviceUnavailable && refused.headers[.retryAfter] == "5")
        }
    }

    static func edgeMappings(_ c: Clients) async throws {
        let wrongMethod = try await c.send(c.enroll, .put, "/v1/health")
        #expect(wrongMethod.code == .methodNotAllowed || wrongMethod.code == .notFound, "\(wrongMethod.text)")
        struct Unexpected: Error {}
        let refusal = EdgeMiddleware.refusal(for: Unexpected())
        #expect(refusal == .internalError && refusal.status == .internalServerError)
        await ObservedCodes.shared.record(refusal.code, status: refusal.status.code)
        let notAllowed = EdgeMiddleware.refusal(for: HTTPError(.methodNotAllowed))
        #expect(notAllowed.code == .methodNotAllowed)
        await ObservedCodes.shared.record(notAllowed.code, status: notAllowed.status.code)
    }

    static func limitedSettings() -> ServerSettings {
        var settings = ServerSettings()
        settings.passwordLockAfter = 7
        return settings
    }

    // MARK: Tests

    @Test func theEnrollmentListener() async throws {
        try await InProcessServer.make().run { try await Self.enrollmentRoutes($0) }
    }

    @Test func enrollmentStartsAreLimitedPerAccount() async throws {
        try await InProcessServer.make().run { try await Self.enrollmentRateLimit($0) }
    }

    @Test func failedPasswordsCannotBeRaced() async throws {
        try await InProcessServer.make(settings: Self.limitedSettings()).run { try await Self.passwordBurst($0) }
    }

    @Test func failedPasswordsWaitThenLock() async throws {
        try await InProcessServer.make(settings: Self.limitedSettings()).run { try await Self.passwordLimits($0) }
    }

    @Test func theAPIListener() async throws {
        try await InProcessServer.make().run { try await Self.apiRoutes($0) }
    }

    @Test func theDemoBank() async throws {
        try await InProcessServer.make().run { try await Self.bankRoutes($0) }
    }

    @Test func aFailingSinkOrStoreIsReportedWithItsCode() async throws {
        try await Self.deliveryAndStoreFailures()
    }

    /// The closed contract, from the server's side: every case of `ErrorCode` is sent by some scenario above, each
    /// with the status of the edge's table, and nothing outside the set is sent (answers decode as `ErrorCode`).
    @Test func everyErrorCodeIsSentWithItsStatus() async throws {
        try await InProcessServer.make().run { c in
            try await Self.enrollmentRoutes(c)
            try await Self.apiRoutes(c)
            try await Self.bankRoutes(c)
            try await Self.edgeMappings(c)
        }
        try await InProcessServer.make(settings: Self.limitedSettings()).run { try await Self.passwordLimits($0) }
        try await Self.deliveryAndStoreFailures()
        try await AttestationRouteTests.all()
        let seen = await ObservedCodes.shared.seen
        for code in ErrorCode.allCases {
            #expect(seen[code] != nil, "no test provoked \(code.rawValue)")
            #expect(seen[code] == nil || seen[code] == [code.httpStatus.code], "\(code.rawValue): \(seen[code] ?? [])")
        }
    }
}

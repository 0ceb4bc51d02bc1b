import Foundation
import LatchkeyTestSupport
import Testing

/// Abuse limits (issue 9): code guessing across many enrollments, floods of starts from one address, slow-loris
/// clients. Request bodies over the limit are in `EndToEndTests.malformedRequestsGet400And413NeverA500`.
@Suite(.serialized) struct AbuseLimitTests {
    /// 20 enrollments × 5 wrong codes reach the account's limit of 100; then the account refuses every start and
    /// every completion, even with the right code, until an operator resets it.
    @Test func codeGuessingAcrossEnrollmentsStopsAtTheAccountLimit() throws {
        let server = try ServerProcess(arguments: ["--enroll-limit-account", "500", "--enroll-limit-address", "500"])
        defer { server.stop() }
        let user = try TestUser.add(server)
        let (csr, _) = try OutsideDevice.makeCSR(in: try Shell.temporaryDirectory())
        var lastID = ""
        for round in 0..<20 {
            let started = try OutsideDevice.start(server, username: user.username, password: user.password)
            try #require(started.status == 201, "round \(round): \(started.status) \(started.body)")
            lastID = try #require(started.json?["enrollment_id"] as? String)
            let real = try server.code(to: user.phone)
            for attempt in 1...5 {
                let wrong = String(format: "%08d", (Int(real)! + attempt) % 100_000_000)
                let answer = try OutsideDevice.complete(server, id: lastID, code: wrong, csr: csr)
                let expected = attempt < 5 ? "code_invalid" : (round < 19 ? "enrollment_locked" : "account_locked")
                if answer.errorCode != expected && !(attempt == 5 && answer.errorCode == "enrollment_locked") {
                    Issue.record("round \(round) attempt \(attempt): \(answer.status) \(answer.body)")
                }
            }
        }
        let refusedStart = try OutsideDevice.start(server, username: user.username, password: user.password)
        #expect(refusedStart.status == 423)
        #expect(refusedStart.errorCode == "account_locked")
        // No code is sent for a refused start, and earlier enrollments stay unusable with their right code.
        let started = try OutsideDevice.start(server, username: user.username, password: user.password)
        #expect(started.errorCode == "account_locked")
        #expect(try server.latchkey(["user", "reset-codes", "--username", user.username]).status == 0)
        let again = try OutsideDevice.start(server, username: user.username, password: user.password)
        #expect(again.status == 201, "\(again.body)")
        let id = try #require(again.json?["enrollment_id"] as? String)
        let completed = try OutsideDevice.complete(server, id: id, code: try server.code(to: user.phone), csr: csr)
        #expect(completed.status == 201, "\(completed.body)")
    }

    /// Starts from one address are limited whatever their outcome: wrong passwords count too, so a flood gets 429
    /// with Retry-After before any password work, and so does a right password from that address afterwards.
    @Test func aFloodOfStartsFromOneAddressGets429WithRetryAfter() throws {
        let server = try ServerProcess(arguments: ["--enroll-limit-address", "5"])
        defer { server.stop() }
        let user = try TestUser.add(server)
        var statuses: [Int] = []
        for index in 0..<8 {
            let answer = try OutsideDevice.start(server, username: "nobody\(index)", password: "wrong-password")
            statuses.append(answer.status)
            if answer.status == 429 {
                let retryAfter = try #require(answer.headers["retry-after"].flatMap { Int($0) })
                #expect(retryAfter > 3000 && retryAfter <= 3600)
                #expect(answer.errorCode == "rate_limited")
            }
        }
        #expect(statuses == [401, 401, 401, 401, 401, 429, 429, 429])
        let legitimate = try OutsideDevice.start(server, username: user.username, password: user.password)
        #expect(legitimate.status == 429)
        #expect((try? server.code(to: user.phone)) == nil, "no code may be sent for a refused start")
    }

    /// Connections that dribble a request head, a TLS handshake or nothing are closed at the header deadline,
    /// while a well-behaved client is served all along.
    @Test func slowLorisClientsAreCutOffWithoutHurtingOthers() throws {
        let server = try ServerProcess(arguments: ["--header-timeout", "2s"])
        defer { server.stop() }
        let port = try #require(URLComponents(string: server.enrollURL)?.port)
        let result = try Shell.run([
            "python3", fixtures + "/slowloris.py", "--port=\(port)", "--ca=\(server.rootCertificatePath)",
            "--connections=30", "--seconds=8",
        ])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any], "\(result.stdout)")
        let closed = try #require(json["closed_after"] as? [Any])
        let kinds = try #require(json["kinds"] as? [String])
        #expect(closed.count == 30)
        for (index, value) in closed.enumerated() {
            guard let seconds = value as? Double else {
                Issue.record("the \(kinds[index]) connection \(index) was never closed")
                continue
            }
            #expect(
                seconds >= 1.5 && seconds <= 4.5, "the \(kinds[index]) connection \(index) closed after \(seconds) s")
        }
        #expect(json["normal_failed"] as? Int == 0, "\(json)")
        #expect((json["normal_ok"] as? Int ?? 0) >= 10, "\(json)")
    }
}

import ArgumentParser
import Crypto
import Foundation
import LatchkeyCommandLine
import LatchkeyAttestation
import LatchkeyClient
import LatchkeyProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// `latchkey demo`: the threat model of docs/THREAT_MODEL.md, played live against a real server.
struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Start a server in a temporary directory and play each attack of the threat model against it, live.",
        discussion: """
            Every verdict comes from the server's actual answer (or the client's actual refusal). Exit status 1 if any \
            attack succeeded or the legitimate device was refused.
            """)

    struct Row {
        let scenario: String
        let attempt: String
        let answer: String
        let verdict: Verdict
    }

    enum Verdict: String {
        case blocked = "BLOCKED"
        case allowed = "ALLOWED"
        case attackSucceeded = "ATTACK SUCCEEDED"
        case refused = "LEGITIMATE REFUSED"
        case limit = "NOT STOPPED (known limit)"
    }

    func run() async throws {
        let base = NSTemporaryDirectory() + "/latchkey-demo-\(UUID().uuidString.prefix(8))"
        let server = try ChildServer(dataDirectory: base + "/server", extra: ["--demo"])
        defer { server.stop() }
        // An interceptor: a TLS server with a key and CA of its own (another Latchkey data directory).
        let interceptor = try ChildServer(dataDirectory: base + "/interceptor", extra: [])
        defer { interceptor.stop() }
        let password = server.demoPassword
        var rows: [Row] = []
        func answer(_ error: any Error) -> String {
            switch error {
            case ClientError.server(let status, let code, _): return "\(status) \(code)"
            case ClientError.pinMismatch: return "TLS aborted: pin mismatch"
            case let error as ClientError: return "refused: \(error)"
            default: return "failed: \(error)"
            }
        }
        func blockedIfServer(_ error: any Error, codes: Set<String>) -> Verdict {
            if case ClientError.server(_, let code, _) = error, codes.contains(code) { return .blocked }
            return .attackSucceeded
        }

        // The legitimate device: password + the code that reached alice's phone.
        let legit: LatchkeyClient
        do {
            legit = try await LatchkeyClient.enroll(
                directory: base + "/alice-phone", enrollURL: server.enrollURL, pins: server.pins, username: "alice",
                password: password, deviceName: "alice's phone"
            ) { _ in try server.latestCode() }
            let me = try await legit.call("GET", "/v1/me")
            rows.append(
                Row(
                    scenario: "0 legitimate device", attempt: "enroll with password + SMS code, GET /v1/me",
                    answer: "\(me.status)", verdict: me.status == 200 ? .allowed : .refused))
        } catch {
            rows.append(
                Row(
                    scenario: "0 legitimate device", attempt: "enroll with password + SMS code", answer: answer(error),
                    verdict: .refused))
            Self.printTable(rows)
            throw ExitCode(1)
        }
        let accounts =
            try JSONSerialization.jsonObject(with: try await legit.call("GET", "/v1/accounts").body) as? [[String: Any]]
            ?? []
        let from = accounts.first?["id"] as? String ?? ""
        let transferBody = Data(
            "{\"from\":\"\(from)\",\"to\":\"DE89370400440532013000\",\"amount\":\"25.00\",\"currency\":\"EUR\"}".utf8)
        let transfer = try await legit.call("POST", "/v1/transfers", body: transferBody)
        rows.append(
            Row(
                scenario: "0 legitimate device", attempt: "signed POST /v1/transfers", answer: "\(transfer.status)",
                verdict: transfer.status == 201 ? .allowed : .refused))

        // 1 and 2: the password without the phone, with their own client and with the genuine app (the SDK).
        for (scenario, name) in [
            ("1 stolen password, own client", "attacker-client"),
            ("2 stolen password, real app on own phone", "attacker-phone"),
        ] {
            do {
                _ = try await LatchkeyClient.enroll(
                    directory: base + "/" + name, enrollURL: server.enrollURL, pins: server.pins, username: "alice",
                    password: password, deviceName: name
                ) { _ in "31415926" }
                rows.append(
                    Row(
                        scenario: scenario, attempt: "enroll with the password and a guessed code",
                        answer: "201 certificate issued", verdict: .attackSucceeded))
            } catch {
                rows.append(
                    Row(
                        scenario: scenario, attempt: "enroll with the password; the code went to +1******0100",
                        answer: answer(error), verdict: blockedIfServer(error, codes: ["code_invalid"])))
            }
        }

        // 3: an intercepting proxy with its own certificate in front of the client.
        do {
            _ = try await LatchkeyClient.enroll(
                directory: base + "/proxied", enrollURL: interceptor.enrollURL, pins: server.pins, username: "alice",
                password: password, deviceName: "proxied"
            ) { _ in "00000000" }
            rows.append(
                Row(
                    scenario: "3 intercepting proxy (user-installed CA)", attempt: "the app connects through the proxy",
                    answer: "connected", verdict: .attackSucceeded))
        } catch {
            var verdict = Verdict.attackSucceeded
            if case ClientError.pinMismatch = error { verdict = .blocked }
            rows.append(
                Row(
                    scenario: "3 intercepting proxy (user-installed CA)", attempt: "the app connects through the proxy",
                    answer: answer(error), verdict: verdict))
        }

        // 4: the user's own rooted phone drives the enrolled key outside the app.
        let scripted = try await legit.call("GET", "/v1/accounts")
        rows.append(
            Row(
                scenario: "4 own rooted phone, modified app", attempt: "script calls the API with the enrolled key",
                answer: "\(scripted.status) (attributed to this device)",
                verdict: scripted.status == 200 ? .limit : .blocked))

        // 6: a captured signed request, replayed.
        let headers = try await legit.signatureHeaders("POST", "/v1/transfers", body: transferBody)
        let sent = [("Content-Type", "application/json")] + headers
        let original = try await legit.send("POST", "/v1/transfers", headers: sent, body: transferBody)
        let replay = try await legit.send("POST", "/v1/transfers", headers: sent, body: transferBody)
        let replayCode = (try? JSONDecoder().decode(ErrorResponse.self, from: replay.body).error) ?? ""
        rows.append(
            Row(
                scenario: "6 captured request replayed", attempt: "send the same signed transfer twice",
                answer: "\(original.status), then \(replay.status) \(replayCode)",
                verdict: replay.status == 401 && replayCode == "nonce_reused" ? .blocked : .attackSucceeded))

        // 7: the CSR and certificate read in transit, used with the attacker's own key.
        let certificate = try String(contentsOfFile: base + "/alice-phone/device.pem", encoding: .utf8)
        let chain = try String(contentsOfFile: base + "/alice-phone/chain.pem", encoding: .utf8)
        do {
            let response = try await LatchkeyClient.probe(
                url: server.apiURL, pins: server.pins, caChain: chain, certificatePEM: certificate,
                keyPEM: P256.Signing.PrivateKey().pemRepresentation, method: "GET", target: "/v1/me")
            rows.append(
                Row(
                    scenario: "7 CSR and certificate read in transit",
                    attempt: "present alice's certificate with another key", answer: "\(response.status)",
                    verdict: response.status == 200 ? .attackSucceeded : .blocked))
        } catch {
            rows.append(
                Row(
                    scenario: "7 CSR and certificate read in transit",
                    attempt: "present alice's certificate with another key",
                    answer: "no TLS session: the certificate is useless without its private key", verdict: .blocked))
        }

        // 8: brute force of the one-time code.
        let started = try await Self.post(
            server, "/v1/enrollments", ["username": "alice", "password": password, "device_name": "brute"])
        let enrollmentID = started.json["enrollment_id"] as? String ?? ""
        var answers: [String] = []
        for guess in 0..<6 {
            let tried = try await Self.post(
                server, "/v1/enrollments/\(enrollmentID)/complete", ["code": String(format: "%08d", guess), "csr": "-"])
            answers.append("\(tried.status) \(tried.json["error"] as? String ?? "")")
        }
        let locked = answers.last?.hasPrefix("423") == true && answers.allSatisfy { !$0.hasPrefix("201") }
        rows.append(
            Row(
                scenario: "8 brute force of the code", attempt: "6 guesses at one enrollment",
                answer: "\(answers[0]) ... \(answers[5])", verdict: locked ? .blocked : .attackSucceeded))

        // 5: a stolen, unlocked phone: the operator revokes it; the next request is refused.
        let status = try await legit.status()
        let revoke = try server.latchkey(["device", "revoke", status.deviceID, "--reason", "stolen"])
        await legit.close()
        let afterRevoke = try await legit.call("GET", "/v1/me")
        let revokeCode = (try? JSONDecoder().decode(ErrorResponse.self, from: afterRevoke.body).error) ?? ""
        rows.append(
            Row(
                scenario: "5 stolen unlocked phone",
                attempt: "call right after `latchkey device revoke` (exit \(revoke))",
                answer: "\(afterRevoke.status) \(revokeCode)",
                verdict: afterRevoke.status == 401 && revokeCode == "device_revoked" ? .blocked : .attackSucceeded))
        await legit.close()

        rows += try await Self.attestedEnrollment(base: base)

        Self.printTable(rows)
        let succeeded = rows.filter { $0.verdict == .attackSucceeded }.count
        let refused = rows.filter { $0.verdict == .refused }.count
        let blocked = rows.filter { $0.verdict == .blocked }.count
        print(
            "summary: \(blocked) attacks blocked, \(succeeded) succeeded, \(rows.filter { $0.verdict == .limit }.count) known limit, legitimate device \(refused == 0 ? "served" : "REFUSED")"
        )
        if succeeded > 0 || refused > 0 { throw ExitCode(1) }
    }

    /// 9: a rogue client holding alice's password and the code from her phone, against a server that requires
    /// App Attest; the genuine app (attested under a test root the server trusts) gets in and moves money.
    static func attestedEnrollment(base: String) async throws -> [Row] {
        let appID = "DEMOTEAM01.com.example.latchkey-demo"
        let simulator = try AttestationSimulator(name: "Latchkey Demo Attestation Root")
        let rootFile = base + "/demo-attestation-root.pem"
        try simulator.rootPEM().write(toFile: rootFile, atomically: true, encoding: .utf8)
        let server = try ChildServer(
            dataDirectory: base + "/attested-server",
            extra: [
                "--demo", "--attestation", "required", "--apple-app-id", appID, "--transfers-require-attestation",
                "--attestation-extra-root", rootFile,
            ])
        defer { server.stop() }
        var rows: [Row] = []
        func answer(_ error: any Error) -> String {
            if case ClientError.server(let status, let code, _) = error { return "\(status) \(code)" }
            return "failed: \(error)"
        }
        func enroll(_ name: String, attestation: (any AttestationProvider)?) async throws -> LatchkeyClient {
            try await LatchkeyClient.enroll(
                directory: base + "/" + name, enrollURL: server.enrollURL, pins: server.pins, username: "alice",
                password: server.demoPassword, deviceName: name, attestation: attestation
            ) { _ in try server.latestCode() }
        }
        let scenario = "9 password + code, own client (no app)"
        for (attempt, provider) in [
            ("enroll without an attestation", nil),
            (
                "enroll with an App Attest made under its own root",
                SimulatedAppAttestProvider(simulator: try AttestationSimulator(name: "Forger"), appID: appID)
            ),
        ] as [(String, (any AttestationProvider)?)] {
            do {
                _ = try await enroll("rogue-\(rows.count)", attestation: provider)
                rows.append(Row(scenario: scenario, attempt: attempt, answer: "201 certificate issued", verdict: .attackSucceeded))
            } catch {
                let code = answer(error)
                let blocked = code == "403 attestation_required" || code == "400 attestation_invalid"
                rows.append(Row(scenario: scenario, attempt: attempt, answer: code, verdict: blocked ? .blocked : .attackSucceeded))
            }
        }
        let genuine = "0 genuine app (App Attest required)"
        do {
            let app = try await enroll(
                "attested-phone", attestation: SimulatedAppAttestProvider(simulator: simulator, appID: appID))
            let me = try await app.call("GET", "/v1/me")
            let assurance =
                (try? JSONSerialization.jsonObject(with: me.body) as? [String: Any])?["assurance"] as? String ?? "?"
            rows.append(
                Row(
                    scenario: genuine, attempt: "enroll with password + code + App Attest, GET /v1/me",
                    answer: "\(me.status) assurance \(assurance)",
                    verdict: me.status == 200 && assurance == "apple-app-attest" ? .allowed : .refused))
            let accounts =
                try JSONSerialization.jsonObject(with: try await app.call("GET", "/v1/accounts").body)
                as? [[String: Any]] ?? []
            let body = Data(
                "{\"from\":\"\(accounts.first?["id"] as? String ?? "")\",\"to\":\"DE89370400440532013000\",\"amount\":\"5.00\",\"currency\":\"EUR\"}"
                    .utf8)
            let transfer = try await app.call("POST", "/v1/transfers", body: body)
            rows.append(
                Row(
                    scenario: genuine, attempt: "signed POST /v1/transfers with App-Assertion",
                    answer: "\(transfer.status)", verdict: transfer.status == 201 ? .allowed : .refused))
            await app.close()
        } catch {
            rows.append(Row(scenario: genuine, attempt: "enroll with App Attest", answer: answer(error), verdict: .refused))
        }
        return rows
    }

    static func printTable(_ rows: [Row]) {
        let widths = [40, 50, 46]
        func pad(_ text: String, _ width: Int) -> String {
            text.count >= width ? text : text + String(repeating: " ", count: width - text.count)
        }
        Swift.print(
            "| " + pad("scenario", widths[0]) + " | " + pad("what was tried", widths[1]) + " | "
                + pad("answer", widths[2]) + " | verdict |")
        Swift.print("|" + widths.map { String(repeating: "-", count: $0 + 2) }.joined(separator: "|") + "|---------|")
        for row in rows {
            Swift.print(
                "| " + pad(row.scenario, widths[0]) + " | " + pad(row.attempt, widths[1]) + " | "
                    + pad(row.answer, widths[2]) + " | \(row.verdict.rawValue) |")
        }
    }

    /// A JSON POST to the enrollment listener over the pinned SDK transport's peer: curl-free, with URLSession-free
    /// plain TLS trusting the server's root.
    static func post(_ server: ChildServer, _ path: String, _ body: [String: String]) async throws -> (
        status: Int, json: [String: Any]
    ) {
        let result = try await LatchkeyClient.enrollmentRequest(
            url: server.enrollURL, pins: server.pins, method: "POST", target: path,
            body: try JSONSerialization.data(withJSONObject: body))
        return (result.status, (try? JSONSerialization.jsonObject(with: result.body) as? [String: Any]) ?? [:])
    }
}

/// A `latchkey serve` child process of the demo, on free ports of 127.0.0.1.
final class ChildServer: @unchecked Sendable {
    let process = Process()
    let dataDirectory: String
    var enrollURL = ""
    var apiURL = ""
    var pins: [String] = []

    init(dataDirectory: String, extra: [String]) throws {
        self.dataDirectory = dataDirectory
        process.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        process.arguments =
            [
                "serve", "--data-dir", dataDirectory, "--enroll-port", "0", "--api-port", "0", "--bcrypt-cost", "10",
                "--log-level", "error",
            ] + extra
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        var text = ""
        while !text.contains("latchkey: ready\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { throw CommandFailure("the demo server did not start") }
            text += String(decoding: chunk, as: UTF8.self)
        }
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
            if parts.count >= 3, parts[1] == "enrollment" { enrollURL = parts[2] }
            if parts.count >= 3, parts[1] == "api" { apiURL = parts[2] }
            if parts.count >= 4, parts[1] == "pins" { pins = Array(parts[2...]) }
        }
    }

    var demoPassword: String {
        let text = (try? String(contentsOfFile: dataDirectory + "/demo-credentials.txt", encoding: .utf8)) ?? ""
        return text.split(separator: "\n").first { $0.hasPrefix("password=") }.map { String($0.dropFirst(9)) } ?? ""
    }

    func latestCode() throws -> String {
        let lines = try String(contentsOfFile: dataDirectory + "/outbox.jsonl", encoding: .utf8).split(separator: "\n")
        for line in lines.reversed() {
            if let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                let code = object["code"] as? String
            {
                return code
            }
        }
        throw CommandFailure("no code in the outbox")
    }

    func latchkey(_ arguments: [String]) throws -> Int32 {
        let child = Process()
        child.executableURL = process.executableURL
        child.arguments = arguments + ["--data-dir", dataDirectory]
        child.standardOutput = FileHandle.nullDevice
        child.standardError = FileHandle.nullDevice
        try child.run()
        child.waitUntilExit()
        return child.terminationStatus
    }

    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

import Foundation
import LatchkeyClient
import LatchkeyTestSupport
import Testing

/// The identity cache of issue 17 over real sockets: a keep-alive connection's device is kept in memory, and every
/// way a device can be revoked still refuses the next requests on connections that are already open. No assertion
/// is about speed: "refused" is required, and the requests served meanwhile are only reported.
@Suite struct IdentityCacheTests {
    static let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/keepalive_client.py").path

    /// A Python client holding one keep-alive connection to `server` with `device`'s certificate.
    final class KeepAlive: @unchecked Sendable {
        let process = Process()
        let output = Pipe()
        let trigger: String

        init(_ server: ServerProcess, certificate: String, key: String) throws {
            trigger = try Shell.temporaryDirectory("keepalive") + "/go"
            let address = server.apiURL.replacingOccurrences(of: "https://", with: "").split(separator: ":")
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [
                "python3", IdentityCacheTests.fixture, String(address[0]), String(address[1]),
                server.rootCertificatePath, certificate, key, trigger,
            ]
            process.standardOutput = output
            try process.run()
            ChildProcesses.register(process.processIdentifier)
        }

        func line() -> String {
            var text = ""
            while !text.hasSuffix("\n") {
                let chunk = output.fileHandleForReading.availableData
                if chunk.isEmpty { break }
                text += String(decoding: chunk, as: UTF8.self)
            }
            return text.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// Lets the client go on, and returns its verdict line.
        func release() throws -> String {
            FileManager.default.createFile(atPath: trigger, contents: nil)
            let verdict = line()
            process.waitUntilExit()
            return verdict
        }
    }

    func enroll(_ server: ServerProcess, _ user: TestUser, _ name: String) async throws -> (LatchkeyClient, String) {
        let directory = try Shell.temporaryDirectory("cache-device") + "/" + name
        let client = try await LatchkeyClient.enroll(
            directory: directory, enrollURL: server.enrollURL, pins: server.pins, username: user.username,
            password: user.password, deviceName: name
        ) { _ in try server.code(to: user.phone) }
        return (client, directory)
    }

    func keepAlive(_ server: ServerProcess, _ directory: String) throws -> KeepAlive {
        let client = try KeepAlive(server, certificate: directory + "/device.pem", key: directory + "/device.key")
        #expect(client.line() == "ready 200")
        return client
    }

    /// A new user's device, enrolled with the SDK, whose certificate a ``KeepAlive`` client holds one connection with.
    func heldDevice(_ server: ServerProcess) async throws
        -> (deviceID: String, open: KeepAlive, user: TestUser, directory: String)
    {
        let user = try TestUser.add(server)
        let (client, directory) = try await enroll(server, user, "phone")
        let deviceID = try await client.status().deviceID
        await client.close()
        return (deviceID, try keepAlive(server, directory), user, directory)
    }

    /// `latchkey device revoke` from the CLI (another process, the same SQLite file) reaches a running server's
    /// open connections, and a connection opened after it is refused as before.
    @Test func aRevocationFromTheCLIRefusesAnOpenConnection() async throws {
        let server = try ServerProcess()
        defer { _ = server.stop() }
        let (deviceID, open, _, directory) = try await heldDevice(server)
        let revoked = try server.latchkey(["device", "revoke", deviceID, "--reason", "lost"])
        #expect(revoked.status == 0, "\(revoked.stderr)")
        let verdict = try open.release()
        #expect(verdict.hasPrefix("refused 401 device_revoked"), "\(verdict)")
        let fresh = try LatchkeyClient(directory: directory)
        let again = try await fresh.call("GET", "/v1/me")
        #expect(again.status == 401)
        await fresh.close()
    }

    /// A revocation through this instance's API takes effect before its answer: the revoked device's open
    /// connection is closed or refused at once.
    @Test func aRevocationThroughTheAPIClosesTheDevicesConnections() async throws {
        let server = try ServerProcess()
        defer { _ = server.stop() }
        let user = try TestUser.add(server)
        let (owner, _) = try await enroll(server, user, "tablet")
        let (lost, lostDirectory) = try await enroll(server, user, "phone")
        let lostID = try await lost.status().deviceID
        await lost.close()
        let open = try keepAlive(server, lostDirectory)
        let deleted = try await owner.call("DELETE", "/v1/devices/\(lostID)")
        #expect(deleted.status == 204)
        let verdict = try open.release()
        #expect(verdict == "closed 0" || verdict == "refused 401 device_revoked 0", "\(verdict)")
        await owner.close()
    }

    /// Two instances on one PostgreSQL database: a revocation through one reaches the other's open connections.
    @Test(.enabled(if: TestDatabases.postgresServerURL != nil || TestDatabases.isCI))
    func aRevocationThroughAnotherInstanceRefusesAnOpenConnection() async throws {
        let database = try TestDatabases.fresh(.postgres)
        let first = try ServerProcess(arguments: ["--database", database])
        defer { _ = first.stop() }
        let copy = try Shell.temporaryDirectory("second") + "/data"
        try FileManager.default.copyItem(atPath: first.dataDirectory, toPath: copy)
        try? FileManager.default.removeItem(atPath: copy + "/outbox.jsonl")
        let second = try ServerProcess(dataDirectory: copy, arguments: ["--database", database])
        defer { _ = second.stop() }
        let user = try TestUser.add(first)
        let (owner, _) = try await enroll(first, user, "tablet")
        let (lost, lostDirectory) = try await enroll(first, user, "phone")
        let lostID = try await lost.status().deviceID
        await lost.close()
        let open = try keepAlive(second, lostDirectory)
        #expect(try await owner.call("DELETE", "/v1/devices/\(lostID)").status == 204)
        let verdict = try open.release()
        #expect(verdict.hasPrefix("refused 401 device_revoked"), "\(verdict)")
        await owner.close()
    }

    /// When the server cannot follow revocations (its revocation version's table is gone, or its row is), it stops
    /// answering from memory: a revocation it could not have been told of is refused on the very next request.
    @Test(arguments: [
        ("ALTER TABLE revocation_head RENAME TO revocation_head_gone",
         "ALTER TABLE revocation_head_gone RENAME TO revocation_head"),
        ("DELETE FROM revocation_head", "INSERT INTO revocation_head (id, version) VALUES (1, 0)"),
    ])
    func withoutChangeTrackingEveryRequestChecksTheStore(_ breaking: (String, String)) async throws {
        let server = try ServerProcess()
        defer { _ = server.stop() }
        let (deviceID, open, _, _) = try await heldDevice(server)
        let database = server.databaseURL
        try TestDatabases.execute(breaking.0, on: database)
        try await Task.sleep(for: .milliseconds(400))
        // A revocation written behind the server's back: the revocation version does not move.
        try TestDatabases.execute(
            "UPDATE devices SET status = 'revoked', revoked_at = 1 WHERE id = '\(deviceID)'", on: database)
        let verdict = try open.release()
        #expect(verdict == "refused 401 device_revoked 0", "\(verdict)")
        try TestDatabases.execute(breaking.1, on: database)
    }

    /// When reading the revocation version hangs (here: a lock held on its table in PostgreSQL), the lease of the
    /// last read lapses and every request checks the store again: a revocation made meanwhile is refused at once.
    @Test(.enabled(if: TestDatabases.postgresServerURL != nil || TestDatabases.isCI))
    func aHangingRevocationReadStopsTheCache() async throws {
        let database = try TestDatabases.fresh(.postgres)
        let server = try ServerProcess(arguments: ["--database", database])
        defer { _ = server.stop() }
        let (deviceID, open, _, _) = try await heldDevice(server)
        let lock = Process()
        lock.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        lock.arguments = [
            "psql", database, "-q", "-c",
            "BEGIN; LOCK TABLE revocation_head IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(60); COMMIT;",
        ]
        lock.standardOutput = FileHandle.nullDevice
        try lock.run()
        try await Task.sleep(for: .milliseconds(500))
        try TestDatabases.execute(
            "UPDATE devices SET status = 'revoked', revoked_at = 1 WHERE id = '\(deviceID)'", on: database)
        let verdict = try open.release()
        #expect(verdict == "refused 401 device_revoked 0", "\(verdict)")
        // The stuck reads are cancelled by the server itself (statement and lock timeouts on the listener's
        // connection): they do not pile up as sessions while the lock is held.
        try await Task.sleep(for: .seconds(3))
        let listeners = try TestDatabases.query(
            """
            SELECT count(*) FROM pg_stat_activity
            WHERE application_name = 'latchkey-revocation-listener \(server.processIdentifier)'
            """, on: database)
        #expect(listeners == "1", "listener sessions: \(listeners)")
        // A shutdown does not wait for the lock either.
        server.stop()
        #expect(lock.isRunning, "the server's shutdown waited for the lock")
        // The lock is held far longer than the test needs (a loaded machine stays well inside it); end it now.
        try TestDatabases.execute(
            "SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE query LIKE '%pg_sleep(60)%' AND pid <> pg_backend_pid()",
            on: database)
        lock.waitUntilExit()
    }

    /// PostgreSQL: when the connection that listens for revocation announcements is cut (and cannot come back: the
    /// database refuses new connections), the server stops answering from memory at once; a revocation written behind
    /// its back meanwhile is refused on the very next request. Once it can connect again it listens, catches up and
    /// says so.
    @Test(.enabled(if: TestDatabases.postgresServerURL != nil || TestDatabases.isCI))
    func aLostAnnouncementConnectionFallsBackToTheStore() async throws {
        let database = try TestDatabases.fresh(.postgres)
        let server = try ServerProcess(arguments: ["--database", database])
        defer { _ = server.stop() }
        let (deviceID, open, _, _) = try await heldDevice(server)
        let name = try TestDatabases.query("SELECT current_database()", on: database)
        let maintenance = TestDatabases.replacingDatabase(in: database, with: "postgres")
        defer { try? TestDatabases.execute("ALTER DATABASE \"\(name)\" ALLOW_CONNECTIONS true", on: maintenance) }
        // Behind the server's back: the revocation version does not move, so only the store can tell.
        try TestDatabases.execute(
            "UPDATE devices SET status = 'revoked', revoked_at = 1 WHERE id = '\(deviceID)'", on: database)
        try TestDatabases.execute("ALTER DATABASE \"\(name)\" ALLOW_CONNECTIONS false", on: maintenance)
        try TestDatabases.execute(
            """
            SELECT pg_terminate_backend(pid) FROM pg_stat_activity
            WHERE application_name = 'latchkey-revocation-listener \(server.processIdentifier)'
            """, on: maintenance)
        // The cut reaches the server as the connection's end, a moment later; from then on nothing is served from
        // memory. (Asking before that moment raced with it: a request inside the last read's lease was answered.)
        // Whichever notices first (the listening connection's end, or the catch-up read on it failing) stops it.
        let lost = "revocation tracking stopped ("
        for _ in 0..<50 where !((try? String(contentsOfFile: server.logPath, encoding: .utf8)) ?? "").contains(lost) {
            try await Task.sleep(for: .milliseconds(100))
        }
        let verdict = try open.release()
        #expect(verdict == "refused 401 device_revoked 0", "\(verdict)")
        try TestDatabases.execute("ALTER DATABASE \"\(name)\" ALLOW_CONNECTIONS true", on: maintenance)
        var log = ""
        for _ in 0..<100 {
            log = (try? String(contentsOfFile: server.logPath, encoding: .utf8)) ?? ""
            if log.components(separatedBy: "revocation tracking is current").count >= 3 { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(log.contains(lost), "\(log)")
        #expect(log.components(separatedBy: "revocation tracking is current").count >= 3, "not caught up again")
    }

    /// A change that does not move the revocation version (a user disabled by hand in SQL) still reaches open
    /// connections: an entry is used for at most 5 seconds after its check.
    @Test func aChangeBehindTheServersBackReachesOpenConnections() async throws {
        let server = try ServerProcess()
        defer { _ = server.stop() }
        let (_, open, user, _) = try await heldDevice(server)
        try TestDatabases.execute(
            "UPDATE users SET status = 'disabled' WHERE username = '\(user.username)'", on: server.databaseURL)
        let verdict = try open.release()
        #expect(verdict.hasPrefix("refused 401 device_revoked"), "\(verdict)")
    }
}

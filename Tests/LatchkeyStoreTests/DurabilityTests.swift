import Crypto
import Foundation
import LatchkeyStore
import LatchkeyTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

@Suite struct DurabilityTests {
    /// A process killed with SIGKILL right after a completion returned still has that device and certificate.
    @Test func aCompletionSurvivesSIGKILL() async throws {
        let url = try TestDatabases.fresh(.sqlite)
        let probe = Process()
        probe.executableURL = URL(fileURLWithPath: Shell.executable(named: "LatchkeyStoreProbe"))
        probe.arguments = [url]
        let output = Pipe()
        probe.standardOutput = output
        try probe.run()
        var line = ""
        while !line.contains("\n") {
            let chunk = output.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line += String(decoding: chunk, as: UTF8.self)
        }
        kill(probe.processIdentifier, SIGKILL)
        probe.waitUntilExit()
        #expect(probe.terminationReason == .uncaughtSignal)
        let parts = line.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: " ")
        try #require(parts.count == 3 && parts[0] == "completed", "probe said: \(line)")
        let probeKey = SymmetricKey(data: SHA256.hash(data: Data("latchkey-store-probe".utf8)))
        let store = try await SQLStore.open(try DatabaseURL(url), auditKey: probeKey)
        let device = try await store.device(id: String(parts[1]))
        let certificate = try await store.certificate(serial: String(parts[2]))
        let trail = try await store.auditTrail()
        try await store.close()
        #expect(device?.status == .active)
        #expect(certificate?.deviceID == String(parts[1]))
        #expect(
            AuditChain.verify(trail, key: probeKey).isEmpty)
    }
}

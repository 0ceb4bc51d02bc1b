import Foundation
import LatchkeyTestSupport
import Testing

/// Drives the built `latchkey` binary as an operator would.
@Suite struct CACommandTests {
    @Test func caShowPrintsThePinOpenSSLComputes() throws {
        let data = try Shell.temporaryDirectory()
        let initResult = try Shell.run([Shell.latchkeyBinary, "ca", "init", "--data-dir", data])
        #expect(initResult.status == 0, "\(initResult.stderr)")
        let show = try Shell.run([Shell.latchkeyBinary, "ca", "show", "--data-dir", data])
        #expect(show.status == 0, "\(show.stderr)")
        let current = show.stdout.split(separator: "\n").first { $0.hasPrefix("  current ") }
        let printed = current.map { String($0.dropFirst("  current ".count)) }
        let pubkey = try OpenSSL.run(["x509", "-in", data + "/tls/server.pem", "-pubkey", "-noout"]).stdoutData
        let der = try OpenSSL.run(["pkey", "-pubin", "-outform", "der"], stdin: pubkey).stdoutData
        let digest = try OpenSSL.run(["dgst", "-sha256", "-binary"], stdin: der).stdoutData
        #expect(printed == "sha256/" + digest.base64EncodedString())
        #expect(show.stdout.contains("sha256_fingerprint"))
        #expect(show.stdout.contains("backup  sha256/"))
    }

    @Test func caInitTwiceFailsWithOneLineAndExit1() throws {
        let data = try Shell.temporaryDirectory()
        _ = try Shell.run([Shell.latchkeyBinary, "ca", "init", "--data-dir", data])
        let again = try Shell.run([Shell.latchkeyBinary, "ca", "init", "--data-dir", data])
        #expect(again.status == 1)
        #expect(again.stderr.split(separator: "\n").count == 1)
        #expect(again.stderr.contains("already exists"))
    }

    @Test func usageErrorsExit2() throws {
        #expect(try Shell.run([Shell.latchkeyBinary, "ca", "frobnicate"]).status == 2)
        #expect(try Shell.run([Shell.latchkeyBinary, "ca", "init", "--no-such-flag"]).status == 2)
        #expect(try Shell.run([Shell.latchkeyBinary, "--help"]).status == 0)
    }

    @Test func caShowWithoutACAFails() throws {
        let result = try Shell.run([Shell.latchkeyBinary, "ca", "show", "--data-dir", try Shell.temporaryDirectory()])
        #expect(result.status == 1)
        #expect(result.stderr.contains("no CA"))
    }
}

import ArgumentParser
import Crypto
import Foundation
import LatchkeyCommandLine
import LatchkeyPKI
import X509

/// `latchkey-bench ...`: benchmarks, each reported as a ratio against a peer measured in the same run. A tool of
/// its own, not part of the product: `seed-enrollments` writes enrollments with known codes into a database.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "latchkey-bench",
        abstract: "Measure Latchkey beside a peer in the same run (use a release build). Never point it at production.",
        subcommands: [
            BenchIssueCommand.self, BenchStoreCommand.self, BenchSignCommand.self, BenchLoadCommand.self,
            BenchSeedEnrollmentsCommand.self, BenchSeedDevicesCommand.self, BenchAttestCommand.self,
        ]
    )
}

/// `latchkey-bench issue`: in-process issuances per second on one core vs the ECDSA P-256 limit of `openssl speed`.
struct BenchIssueCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "issue",
        abstract: "Issuances per second (CSR parse + verify + issue + PEM) on one core vs `openssl speed ecdsap256`.",
        discussion: """
            The limit is 1 / (1/sign + 1/verify) from `openssl speed -seconds S ecdsap256`: issuing costs one \
            verification (the CSR) and one signature (the certificate). Run with a release build: \
            `swift run -c release latchkey-bench issue`.
            """
    )

    @Option(help: "Seconds to measure Latchkey.") var seconds: Double = 5
    @Option(help: "Seconds per openssl speed measurement.") var opensslSeconds: Int = 3

    func run() async throws {
        let authority = try CertificateAuthority.create().authority
        let policy = try IssuancePolicy()
        let requests = try (0..<64).map { _ in try Self.makeCSR() }
        _ = try Self.issueOnce(requests[0], authority: authority, policy: policy)
        var count = 0
        let clock = ContinuousClock()
        let start = clock.now
        let deadline = start.advanced(by: .milliseconds(Int64(seconds * 1000)))
        while clock.now < deadline {
            for _ in 0..<32 {
                _ = try Self.issueOnce(requests[count % requests.count], authority: authority, policy: policy)
                count += 1
            }
        }
        let elapsed = start.duration(to: clock.now)
        let rate = Double(count) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
        let speed = try OpenSSLSpeed.ecdsaP256(seconds: opensslSeconds)
        let limit = 1 / (1 / speed.sign + 1 / speed.verify)
        print("| figure | Latchkey | peer | ratio | command |")
        print("|---|---|---|---|---|")
        print(
            String(
                format:
                    "| P1 issuances/s, one core | %.0f | %.0f (openssl sign %.0f/s, verify %.0f/s) | %.2f | latchkey-bench issue; openssl speed -seconds %d ecdsap256 |",
                rate, limit, speed.sign, speed.verify, rate / limit, opensslSeconds))
    }

    static func makeCSR() throws -> String {
        let key = P256.Signing.PrivateKey()
        let csr = try CertificateSigningRequest(
            version: .v1, subject: try DistinguishedName { CommonName("bench") },
            privateKey: Certificate.PrivateKey(key), attributes: CertificateSigningRequest.Attributes(),
            signatureAlgorithm: .ecdsaWithSHA256)
        return try csr.serializeAsPEM().pemString
    }

    static func issueOnce(_ pem: String, authority: CertificateAuthority, policy: IssuancePolicy) throws -> String {
        let accepted = try CSRIntake.accept(pem: pem)
        return try policy.issueEncoded(accepted, deviceID: "d-bench", userID: "u-bench", authority: authority).pem
    }
}

/// Runs `openssl speed` and reads its ECDSA P-256 sign and verify rates.
enum OpenSSLSpeed {
    struct Rates {
        let sign: Double
        let verify: Double
    }

    static func ecdsaP256(seconds: Int) throws -> Rates {
        let output = try ChildProcess.output(["openssl", "speed", "-seconds", String(seconds), "ecdsap256"])
        // The summary line: " 256 bits ecdsa (nistp256)   0.0000s   0.0001s  35000.0  14000.0"
        for line in output.split(separator: "\n") where line.contains("ecdsa (nistp256)") {
            let numbers = line.split(separator: " ").compactMap { Double($0) }
            if numbers.count >= 3, let verify = numbers.last {
                return Rates(sign: numbers[numbers.count - 2], verify: verify)
            }
        }
        throw CommandFailure("could not read the ECDSA P-256 rates from `openssl speed` (is openssl installed?)")
    }
}

@main
enum Entry {
    static func main() async {
        await CommandEntry.run(BenchCommand.self)
    }
}

import ArgumentParser
import Crypto
import Foundation
import LatchkeyAttestation
import LatchkeyCommandLine
import SwiftASN1
import X509
import _CryptoExtras

/// `latchkey-bench attest`: attestations verified per second on one core, App Attest and Android, beside the limit
/// `openssl speed` sets for the signatures each verification checks.
struct BenchAttestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attest",
        abstract: "Attestation verifications per second on one core vs openssl's rate for the same signatures.",
        discussion: """
            Synthetic attestations are made under a P-256 test root; with --vectors, the recorded App Attest \
            (iOS 14.4) and Android (caiman TEE, remote-provisioned) chains of ../shared/attestation-vectors are \
            verified at their recorded time too. The limit is 1 / (sum of 1/rate) over the signatures one \
            verification checks, each rate from `openssl speed` (ecdsap256, ecdsap384, rsa2048, rsa4096) in this run.
            """
    )

    @Option(help: "Seconds per measurement.") var seconds: Double = 3
    @Option(name: .customLong("openssl-seconds")) var opensslSeconds = 3
    @Option(help: "The attestation-vectors directory (recorded data), for the real-data rows.") var vectors: String?

    struct Case {
        let name: String
        /// The public keys that verify one signature each per verification.
        let signers: [Certificate.PublicKey]
        let verify: () async throws -> Void
    }

    func run() async throws {
        var cases = try syntheticCases()
        if let vectors { cases += try recordedCases(vectors) }
        var rates: [(Case, Double)] = []
        for test in cases {
            try await test.verify()
            var count = 0
            let start = ContinuousClock.now
            let deadline = start.advanced(by: .milliseconds(Int64(seconds * 1000)))
            while ContinuousClock.now < deadline {
                for _ in 0..<16 { try await test.verify() }
                count += 16
            }
            rates.append((test, Double(count) / BenchStoreCommand.seconds(ContinuousClock.now - start)))
        }
        let speed = try OpenSSLSpeed.verifyRates(seconds: opensslSeconds)
        print("| figure | Latchkey | peer | ratio | command |")
        print("|---|---|---|---|---|")
        for (test, rate) in rates {
            let kinds = test.signers.map(OpenSSLSpeed.kind)
            let limit = 1 / kinds.reduce(0) { $0 + 1 / (speed[$1] ?? .infinity) }
            print(
                String(
                    format:
                        "| %@ verified/s, one core | %.0f | %.0f (openssl verify: %@) | %.2f | latchkey-bench attest; openssl speed -seconds %d ecdsap256 ecdsap384 rsa2048 rsa4096 |",
                    test.name, rate, limit, kinds.joined(separator: " + "), rate / limit, opensslSeconds))
        }
    }

    func syntheticCases() throws -> [Case] {
        let simulator = try AttestationSimulator()
        let appID = "ABCDE12345.com.example.bank"
        let attestKey = P256.Signing.PrivateKey()
        let hash = Array(repeating: UInt8(1), count: 32)
        let made = try simulator.appAttest(
            attestKey: attestKey, appID: appID, environment: .production, clientDataHash: hash)
        let apple = AppAttestVerifier(anchors: [simulator.root], appIDs: [appID], environment: .production)
        let clientData = Array("a signature base".utf8)
        let assertion = try AttestationSimulator.assertion(
            attestKey: attestKey, appID: appID, counter: 1, clientData: clientData)
        let assertions = AppAttestAssertionVerifier(publicKey: attestKey.publicKey, appIDs: [appID])
        let deviceKey = P256.Signing.PrivateKey()
        let challenge = Array(repeating: UInt8(2), count: 32)
        let digest = Array(repeating: UInt8(3), count: 32)
        let chain = try simulator.androidChain(
            publicKey: Certificate.PublicKey(deviceKey.publicKey), challenge: challenge,
            claims: .init(package: "com.example.bank", signatureDigest: digest))
        let android = AndroidKeyAttestationVerifier(
            anchors: [simulator.root], packages: [AndroidPackageRule(name: "com.example.bank", signingDigest: digest)],
            allowUnverifiedBoot: false, revocations: AndroidRevocationList(entries: [:], installedAt: Date()))
        let rootKey = simulator.root.publicKey
        let intermediateKey = simulator.intermediate.publicKey
        return [
            Case(name: "App Attest attestation (synthetic, P-256 chain)", signers: [rootKey, intermediateKey]) {
                _ = try await apple.verify(attestationObject: made.object, keyID: made.keyID, clientDataHash: hash, at: Date())
            },
            Case(name: "App Attest assertion", signers: [Certificate.PublicKey(attestKey.publicKey)]) {
                _ = try assertions.verify(assertion: assertion, clientData: clientData, previousCounter: 0)
            },
            Case(name: "Android key attestation (synthetic, P-256 chain)", signers: [intermediateKey, rootKey]) {
                _ = try android.verify(chain: chain, challenge: challenge, at: Date())
            },
        ]
    }

    func recordedCases(_ directory: String) throws -> [Case] {
        var cases: [Case] = []
        let appleRoot = try PEMCertificates.parse(
            try String(contentsOfFile: "\(directory)/roots/apple-app-attestation-root-ca.pem", encoding: .utf8))
        let yaml = try String(contentsOfFile: "\(directory)/apple/veehaitch-ios-14.4.yaml", encoding: .utf8)
        func field(_ name: String) -> String? {
            yaml.split(separator: "\n").first { $0.hasPrefix(name + ": ") }.map {
                String($0.dropFirst(name.count + 2)).trimmingCharacters(in: CharacterSet(charactersIn: "'"))
            }
        }
        if let object = field("attestationBase64").flatMap({ Data(base64Encoded: $0) }),
            let keyID = field("keyIdBase64").flatMap({ Data(base64Encoded: $0) }),
            let hash = field("clientDataHashSha256Base64").flatMap({ Data(base64Encoded: $0) }),
            let team = field("teamIdentifier"), let bundle = field("bundleIdentifier"),
            let time = field("timestamp").flatMap({ Self.date($0) })
        {
            let verifier = AppAttestVerifier(anchors: appleRoot, appIDs: ["\(team).\(bundle)"], environment: .development)
            let parsed = try AppAttestObject(Array(object))
            cases.append(
                Case(
                    name: "App Attest attestation (recorded, iOS 14.4)",
                    signers: [parsed.certificates[1].publicKey, appleRoot[0].publicKey]
                ) {
                    _ = try await verifier.verify(
                        attestationObject: Array(object), keyID: Array(keyID), clientDataHash: Array(hash), at: time)
                })
        }
        let googleRoots = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: "\(directory)/roots/google-roots.json"))) as? [String] ?? []
        let anchors = try googleRoots.flatMap { try PEMCertificates.parse($0) }
        let chainText = try String(contentsOfFile: "\(directory)/android/caiman-sdk36-TEE_EC_RKP.pem", encoding: .utf8)
        let chain = try PEMDocument.parseMultiple(pemString: chainText).map(\.derBytes)
        let certificates = try chain.map { try Certificate(derEncoded: $0) }
        let android = AndroidKeyAttestationVerifier(
            anchors: anchors, packages: [], allowUnverifiedBoot: false,
            revocations: AndroidRevocationList(entries: [:], installedAt: Date()))
        let challenge = Array("d688d763-6118-4ca6-94b2-e6cd9ed7e4e4".utf8)
        let at = Self.date("2025-09-26T16:00:00Z")!
        cases.append(
            Case(
                name: "Android key attestation (recorded, caiman TEE, \(chain.count) certificates)",
                signers: certificates.dropFirst().map(\.publicKey)
            ) {
                _ = try android.verify(chain: chain, challenge: challenge, at: at)
            })
        return cases
    }

    static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text) ?? ISO8601DateFormatter().date(from: text)
    }
}

extension OpenSSLSpeed {
    /// Verifications per second by key kind ("P-256", "P-384", "RSA-2048", "RSA-4096") from one `openssl speed` run.
    static func verifyRates(seconds: Int) throws -> [String: Double] {
        let output = try ChildProcess.output([
            "openssl", "speed", "-seconds", String(seconds), "ecdsap256", "ecdsap384", "rsa2048", "rsa4096",
        ])
        var rates: [String: Double] = [:]
        // "rsa 2048 bits 0.000241s 0.000016s 4150.5 61644.0" and " 256 bits ecdsa (nistp256) ... sign/s verify/s":
        // the bit count, then sign/s, then verify/s (newer versions add more columns after them).
        for line in output.split(separator: "\n") {
            let numbers = line.split(separator: " ").compactMap { Double($0) }
            guard numbers.count >= 3 else { continue }
            let verify = numbers[2]
            if line.contains("ecdsa (nistp256)") { rates["P-256"] = verify }
            if line.contains("ecdsa (nistp384)") { rates["P-384"] = verify }
            if line.hasPrefix("rsa 2048 bits") { rates["RSA-2048"] = verify }
            if line.hasPrefix("rsa 4096 bits") { rates["RSA-4096"] = verify }
        }
        guard rates["P-256"] != nil, rates["P-384"] != nil else {
            throw CommandFailure("could not read the verify rates from `openssl speed`")
        }
        return rates
    }

    /// The kind of a signing key, as `verifyRates` names it.
    static func kind(_ key: Certificate.PublicKey) -> String {
        if P256.Signing.PublicKey(key) != nil { return "P-256" }
        if P384.Signing.PublicKey(key) != nil { return "P-384" }
        if let rsa = _RSA.Signing.PublicKey(key) { return "RSA-\(rsa.keySizeInBits)" }
        return "other"
    }
}

import Foundation
import LatchkeyTestSupport
import Testing

/// Every recording in `../shared/attestation-vectors` replays through `latchkey attest verify` with its expected
/// verdict: accepted ones at their recorded time, refused ones for the reason the README gives.
@Suite struct VectorReplayTests {
    static let appleRoot = Vectors.path("roots/apple-app-attestation-root-ca.pem")

    func verify(_ arguments: [String]) throws -> Shell.Result {
        try Shell.run([Shell.latchkeyBinary, "attest", "verify"] + arguments)
    }

    func json(_ result: Shell.Result) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any] ?? [:]
    }

    @Test func appleAttestationsAreAcceptedAtTheirTimeAndRefusedNow() throws {
        let documents = try Vectors.appleDocuments(type: "attestation")
        #expect(documents.count == 3)
        for document in documents {
            let file = try Vectors.write(document["attestationBase64"])
            let common = [
                "apple", "--attestation", file, "--key-id", document["keyIdBase64"], "--app-id", document.appID,
                "--client-data-hash", document["clientDataHashSha256Base64"], "--environment", "development",
                "--root", Self.appleRoot,
            ]
            let then = try verify(common + ["--at", document["timestamp"]])
            #expect(then.status == 0, "\(document.file): \(then.stderr)")
            let output = try json(then)
            #expect(output["format"] as? String == "apple-appattest")
            #expect(output["key_id"] as? String == document["keyIdBase64"])
            #expect(output["app_id"] as? String == document.appID)
            #expect(output["counter"] as? Int == 0)
            #expect((output["receipt_size"] as? Int ?? 0) > 1000)
            #expect((output["public_key"] as? String)?.hasPrefix("-----BEGIN PUBLIC KEY-----") == true)

            let now = try verify(common)
            #expect(now.status == 1)
            #expect(now.stderr.hasPrefix("attestation_invalid: chain: x5c[0] expired"), "\(now.stderr)")

            let production = try verify(
                common.map { $0 == "development" ? "production" : $0 } + ["--at", document["timestamp"]])
            #expect(production.stderr.hasPrefix("attestation_invalid: environment:"), "\(production.stderr)")
            let otherApp = try verify(
                common.map { $0 == document.appID ? "6MURL8TA57.com.example.other" : $0 } + ["--at", document["timestamp"]])
            #expect(otherApp.stderr.hasPrefix("attestation_invalid: app_id:"), "\(otherApp.stderr)")
            let otherChallenge = try verify(
                common.map { $0 == document["clientDataHashSha256Base64"] ? Data(count: 32).base64EncodedString() : $0 }
                    + ["--at", document["timestamp"]])
            #expect(otherChallenge.stderr.hasPrefix("attestation_invalid: nonce:"), "\(otherChallenge.stderr)")
        }
    }

    @Test func appleAssertionsAcceptCounterZeroAndRefuseAReplay() throws {
        let documents = try Vectors.appleDocuments(type: "assertion")
        #expect(documents.count == 3)
        for document in documents {
            let assertion = try Vectors.write(document["assertionBase64"])
            let key = try Vectors.write(document["publicKey"])
            let clientData = try Vectors.write(Data(base64Encoded: document["clientDataBase64"])!)
            let common = [
                "apple-assertion", "--assertion", assertion, "--public-key", key, "--client-data", clientData,
                "--app-id", document.appID,
            ]
            let first = try verify(common + ["--previous-counter", "0"])
            #expect(first.status == 0, "\(document.file): \(first.stderr)")
            #expect(try json(first)["counter"] as? Int == Int(document["counter"]))
            let replay = try verify(common + ["--previous-counter", "1"])
            #expect(replay.status == 1)
            #expect(replay.stderr.hasPrefix("assertion_invalid: counter:"), "\(replay.stderr)")
            let otherRequest = try Vectors.write(Data("another request".utf8))
            let moved = try verify(
                common.map { $0 == clientData ? otherRequest : $0 } + ["--previous-counter", "0"])
            #expect(moved.stderr.hasPrefix("assertion_invalid: signature:"), "\(moved.stderr)")
        }
    }

    enum Expected: Sendable {
        case success((String, String))
        case failure(String)
    }

    struct AndroidCase: Sendable, CustomStringConvertible {
        let file: String
        let at: String
        let challenge: String
        let extra: [String]
        let expected: Expected

        var description: String { file }
    }

    static let digest = "EDk47kU35Z6O55L2VFBPuDRvxrNG0LvEQV/DOfz8jsE="
    static let androidCases: [AndroidCase] = [
        AndroidCase(
            file: "akita-sdk34-TEE_EC_NONE.pem", at: "2024-09-26T23:00:00Z", challenge: "challenge",
            extra: [
                "--allow-unverified-boot", "--package",
                "com.google.wireless.android.security.attestationverifier.collector:\(digest)",
            ], expected: .success(("tee", "unverified"))),
        AndroidCase(
            file: "akita-sdk34-TEE_EC_NONE.pem", at: "2024-09-26T23:00:00Z", challenge: "challenge", extra: [],
            expected: .failure("attestation_invalid: boot_state:")),
        AndroidCase(
            file: "caiman-sdk36-TEE_EC_RKP.pem", at: "2025-09-26T16:00:00Z",
            challenge: "d688d763-6118-4ca6-94b2-e6cd9ed7e4e4",
            extra: ["--package", "com.google.android.attestation:\(digest)"], expected: .success(("tee", "verified"))),
        AndroidCase(
            file: "caiman-sdk36-SB_EC_RKP.pem", at: "2025-09-26T16:00:00Z",
            challenge: "7ccac1ea-4845-482e-858d-f6fa9aa8c295",
            extra: ["--package", "com.google.android.attestation:\(digest)"],
            expected: .success(("strongbox", "verified"))),
        AndroidCase(
            file: "caiman-sdk36-SB_EC_RKP.pem", at: "2025-09-26T16:00:00Z",
            challenge: "7ccac1ea-4845-482e-858d-f6fa9aa8c295",
            extra: ["--package", "com.example.bank:\(digest)"], expected: .failure("attestation_invalid: package:")),
        AndroidCase(
            file: "caiman-sdk36-TEE_EC_RKP.pem", at: "2025-09-26T16:00:00Z", challenge: "another challenge",
            extra: [], expected: .failure("attestation_invalid: challenge:")),
        // The remote-provisioned intermediate lived a week: the chain is expired now.
        AndroidCase(
            file: "caiman-sdk36-TEE_EC_RKP.pem", at: "", challenge: "d688d763-6118-4ca6-94b2-e6cd9ed7e4e4",
            extra: [], expected: .failure("attestation_invalid: validity:")),
        // A software-level key under Google's software root: no hardware root.
        AndroidCase(
            file: "marlin-sdk29-TEE_EC_NONE.pem", at: "2019-10-29T01:00:00Z", challenge: "challenge", extra: [],
            expected: .failure("attestation_invalid: chain: the chain does not end in a trusted hardware")),
        AndroidCase(
            file: "invalid-tags_not_in_ascending_order.pem", at: "2024-06-01T00:00:00Z", challenge: "", extra: [],
            expected: .failure("attestation_invalid: chain: certificate 0 is not signed by certificate 1")),
    ]

    @Test(arguments: androidCases)
    func androidChainsHaveTheirVerdict(_ test: AndroidCase) throws {
        var arguments = [
            "android", "--chain", Vectors.path("android/\(test.file)"), "--root", try Vectors.googleRootsPEM(),
            "--challenge", Data(test.challenge.utf8).base64EncodedString(),
        ]
        if !test.at.isEmpty { arguments += ["--at", test.at] }
        let result = try verify(arguments + test.extra)
        switch test.expected {
        case .success(let (level, boot)):
            #expect(result.status == 0, "\(result.stderr)")
            let output = try json(result)
            #expect(output["security_level"] as? String == level)
            #expect(output["verified_boot_state"] as? String == boot)
            #expect(output["signature_digests"] as? [String] == [Self.digest])
            #expect(output["revocation_checked"] as? Bool == false)
            #expect((output["public_key_sha256"] as? String)?.count == 64)
        case .failure(let prefix):
            #expect(result.status == 1)
            #expect(result.stderr.hasPrefix(prefix), "\(result.stderr)")
        }
    }

    /// The README's decoded descriptions agree with ours, and a chain's serial in a copy of the sample status list
    /// refuses it.
    @Test func aRevokedSerialRefusesARealChain() throws {
        let chain = Vectors.path("android/caiman-sdk36-TEE_EC_RKP.pem")
        let intermediateSerial = try OpenSSL.run(
            ["x509", "-noout", "-serial"], stdin: Data(try certificates(in: chain)[1].utf8)
        ).stdout.split(separator: "=")[1].trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        var list = try JSONSerialization.jsonObject(
            with: Data(contentsOf: URL(fileURLWithPath: Vectors.path("android/revocations-sample.json")))) as! [String: Any]
        var entries = list["entries"] as! [String: Any]
        let arguments = [
            "android", "--chain", chain, "--root", try Vectors.googleRootsPEM(), "--at", "2025-09-26T16:00:00Z",
            "--challenge", Data("d688d763-6118-4ca6-94b2-e6cd9ed7e4e4".utf8).base64EncodedString(), "--revocations",
        ]
        let clean = try Vectors.write(Data(try JSONSerialization.data(withJSONObject: list)))
        let accepted = try verify(arguments + [clean])
        #expect(accepted.status == 0, "\(accepted.stderr)")
        #expect(try json(accepted)["revocation_checked"] as? Bool == true)

        let trimmed = String(intermediateSerial.drop { $0 == "0" })
        entries[trimmed] = ["status": "SUSPENDED", "reason": "KEY_COMPROMISE"]
        list["entries"] = entries
        let revoked = try Vectors.write(Data(try JSONSerialization.data(withJSONObject: list)))
        let refused = try verify(arguments + [revoked])
        #expect(refused.status == 1)
        #expect(refused.stderr.hasPrefix("attestation_invalid: revocation: certificate 1 is suspended"), "\(refused.stderr)")
    }

    @Test func installedRootsAreCheckedByFingerprint() throws {
        let data = try Shell.temporaryDirectory()
        let apple = try Shell.run([
            Shell.latchkeyBinary, "attest", "roots", "install", "--data-dir", data, Self.appleRoot,
            try Vectors.googleRootsPEM(),
        ])
        // The Google file holds two certificates: one root per file is required.
        #expect(apple.status == 1)
        let ok = try Shell.run([Shell.latchkeyBinary, "attest", "roots", "install", "--data-dir", data, Self.appleRoot])
        #expect(ok.status == 0, "\(ok.stderr)")
        let stranger = try Shell.temporaryDirectory() + "/root.pem"
        _ = try OpenSSL.run([
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", "/dev/null",
            "-subj", "/CN=Apple App Attestation Root CA", "-out", stranger,
        ])
        let refused = try Shell.run([Shell.latchkeyBinary, "attest", "roots", "install", "--data-dir", data, stranger])
        #expect(refused.status == 1)
        #expect(refused.stderr.contains("fingerprint"))
        // Installed roots are used without --root.
        let document = try #require(try Vectors.appleDocuments(type: "attestation").first)
        let file = try Vectors.write(document["attestationBase64"])
        let result = try verify([
            "apple", "--data-dir", data, "--attestation", file, "--key-id", document["keyIdBase64"], "--app-id",
            document.appID, "--client-data-hash", document["clientDataHashSha256Base64"], "--environment",
            "development", "--at", document["timestamp"],
        ])
        #expect(result.status == 0, "\(result.stderr)")
    }

    func certificates(in file: String) throws -> [String] {
        let text = try String(contentsOfFile: file, encoding: .utf8)
        return text.components(separatedBy: "-----END CERTIFICATE-----").dropLast().map {
            $0.trimmingCharacters(in: .whitespacesAndNewlines) + "\n-----END CERTIFICATE-----\n"
        }
    }
}

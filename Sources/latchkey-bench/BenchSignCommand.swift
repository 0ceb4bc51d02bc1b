import ArgumentParser
import Crypto
import Foundation
import LatchkeyCommandLine
import LatchkeyClient
import LatchkeyProtocol

/// `latchkey-bench sign`: signature verifications per second in process vs `openssl speed`, and signed transfers
/// per second end to end with an enrolled device.
struct BenchSignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract:
            "RFC 9421 verifications per second (parse + base + ECDSA verify) on one core vs openssl's ECDSA P-256 verify rate; with --device-dir, signed POST /v1/transfers per second end to end."
    )

    @Option(help: "Seconds per measurement.") var seconds: Double = 3
    @Option(name: .customLong("openssl-seconds")) var opensslSeconds = 3
    @Option(name: .customLong("device-dir"), help: "An enrolled device directory, for the end-to-end figure.")
    var deviceDir: String?

    func run() async throws {
        let key = P256.Signing.PrivateKey()
        let signer = DeviceKey(key)
        let body = Data(#"{"from":"acc-1","to":"DE89370400440532013000","amount":"1.00","currency":"EUR"}"#.utf8)
        let headers = try RequestSigner.headers(
            method: "POST", target: "/v1/transfers", body: body, nonce: "bench-nonce", keyID: "dev-bench",
            signer: signer)
        let fields = Dictionary(uniqueKeysWithValues: headers.map { ($0.0.lowercased(), $0.1) })
        let verificationKey = SignatureVerificationKey.p256(key.publicKey)
        var count = 0
        let start = ContinuousClock.now
        let deadline = start.advanced(by: .milliseconds(Int64(seconds * 1000)))
        while ContinuousClock.now < deadline {
            let received = try ReceivedSignature.parse(
                signatureInput: fields["signature-input"], signature: fields["signature"])
            guard ContentDigest.matchesSHA256(header: fields["content-digest"] ?? "", body: body) else {
                throw CommandFailure("digest")
            }
            let base = try SignatureBase.build(
                HTTPMessageParts(method: "POST", target: "/v1/transfers", fields: fields),
                components: received.parameters.components, signatureParams: received.signatureInput)
            guard verificationKey.isValid(signature: received.signature, base: base) else {
                throw CommandFailure("verify")
            }
            count += 1
        }
        let rate = Double(count) / BenchStoreCommand.seconds(ContinuousClock.now - start)
        let speed = try OpenSSLSpeed.ecdsaP256(seconds: opensslSeconds)
        print("| figure | Latchkey | peer | ratio | command |")
        print("|---|---|---|---|---|")
        print(
            String(
                format:
                    "| verifications/s, one core | %.0f | %.0f (openssl verify) | %.2f | latchkey-bench sign; openssl speed -seconds %d ecdsap256 |",
                rate, speed.verify, rate / speed.verify, opensslSeconds))
        guard let deviceDir else { return }
        let client = try LatchkeyClient(directory: deviceDir)
        let accounts =
            try JSONSerialization.jsonObject(with: try await client.call("GET", "/v1/accounts").body)
            as? [[String: Any]] ?? []
        guard accounts.count >= 2, let from = accounts[0]["id"] as? String, let to = accounts[1]["id"] as? String else {
            throw CommandFailure("the device's user needs two accounts")
        }
        var transfers = 0
        let e2eStart = ContinuousClock.now
        let e2eDeadline = e2eStart.advanced(by: .milliseconds(Int64(seconds * 1000)))
        while ContinuousClock.now < e2eDeadline {
            let (source, target) = transfers % 2 == 0 ? (from, to) : (to, from)
            let response = try await client.call(
                "POST", "/v1/transfers",
                body: Data(
                    "{\"from\":\"\(source)\",\"to\":\"\(target)\",\"amount\":\"0.01\",\"currency\":\"EUR\"}".utf8))
            guard response.status == 201 else { throw CommandFailure("a transfer failed with HTTP \(response.status)") }
            transfers += 1
        }
        await client.close()
        let e2e = Double(transfers) / BenchStoreCommand.seconds(ContinuousClock.now - e2eStart)
        print(
            String(
                format:
                    "| signed POST /v1/transfers/s, one client, keep-alive | %.0f | - | - | latchkey-bench sign --device-dir DIR |",
                e2e))
    }
}

import Crypto
import Foundation
import LatchkeyProtocol
import LatchkeyPKI

/// Posts each message as JSON to the bank's gateway, signed with HMAC-SHA256 over the exact body.
///
/// Wire format: `POST URL`, `Content-Type: application/json`, `X-Latchkey-Timestamp: UNIX_SECONDS`,
/// `X-Latchkey-Signature: sha256=HEX(HMAC-SHA256(secret, TIMESTAMP + "." + BODY))`, body
/// `{"kind", "to", "code", "body", "time"}`. A 2xx is delivered; a 4xx is a refusal (not retried); a 5xx or a
/// network failure is retried with backoff (0.2 s, 0.4 s, 0.8 s), then reported.
public struct WebhookSink: OutOfBandSink {
    public let url: String
    let secret: SymmetricKey
    let client: OutOfBandHTTPClient
    public let channel = "webhook"
    let backoff: [Duration] = [.milliseconds(200), .milliseconds(400), .milliseconds(800)]

    public init(url: String, secret: String, client: OutOfBandHTTPClient) {
        self.url = url
        self.secret = SymmetricKey(data: Data(secret.utf8))
        self.client = client
    }

    static func signature(secret: SymmetricKey, timestamp: String, body: Data) -> String {
        var signed = Data(timestamp.utf8)
        signed.append(0x2E)
        signed.append(body)
        return "sha256=" + Hex.lowercase(HMAC<SHA256>.authenticationCode(for: signed, using: secret))
    }

    public func deliver(_ message: OutOfBandMessage) async throws {
        var object: [String: Any] = [
            "kind": message.kind.rawValue, "to": message.to, "body": message.body,
            "time": Timestamp.string(message.time),
        ]
        object["code"] = message.code ?? NSNull()
        let body = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
        var lastProblem = ""
        for attempt in 0...backoff.count {
            if attempt > 0 { try await Task.sleep(for: backoff[attempt - 1]) }
            let timestamp = String(Int(Date().timeIntervalSince1970))
            let headers = [
                ("Content-Type", "application/json"), ("X-Latchkey-Timestamp", timestamp),
                ("X-Latchkey-Signature", Self.signature(secret: secret, timestamp: timestamp, body: body)),
            ]
            do {
                let response = try await client.post(url: url, headers: headers, body: body)
                if (200..<300).contains(response.status) { return }
                if (400..<500).contains(response.status) {
                    throw OutOfBandError("the webhook gateway refused the message with HTTP \(response.status)")
                }
                lastProblem = "HTTP \(response.status)"
            } catch let refusal as OutOfBandError {
                throw refusal
            } catch {
                lastProblem = "the gateway could not be reached"
            }
        }
        throw OutOfBandError("the webhook gateway failed after \(backoff.count + 1) attempts (\(lastProblem))")
    }
}

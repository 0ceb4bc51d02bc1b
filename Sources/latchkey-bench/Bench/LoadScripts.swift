import Crypto
import Foundation
import LatchkeyCommandLine
import LatchkeyClient
import LatchkeyPKI
import LatchkeyProtocol
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#endif

/// The same request again and again (`GET /v1/me`, nginx's static 200, cfssl's sign endpoint).
final class RepeatScript: LoadScript {
    let request: LoadRequest

    init(_ request: LoadRequest) {
        self.request = request
    }

    func next(after response: LoadResponse?) throws -> LoadRequest? { request }
}

/// Completes seeded enrollments (`POST /v1/enrollments/{id}/complete`), one per operation, until its share runs out.
///
/// Each completion sends a CSR of a new P-256 key (the server refuses a key that belongs to another device); the key
/// is made on the load generator's core, not the server's. With a key log, each key is appended to it in one write.
final class EnrollmentCompletionScript: LoadScript {
    var queue: ArraySlice<(id: String, code: String)>
    let keyLog: Int32?

    init(enrollments: ArraySlice<(id: String, code: String)>, keyLog: Int32?) {
        self.queue = enrollments
        self.keyLog = keyLog
    }

    func next(after response: LoadResponse?) throws -> LoadRequest? {
        guard let enrollment = queue.popFirst() else { return nil }
        let key = P256.Signing.PrivateKey()
        if let keyLog {
            let spki = Hex.lowercase(SHA256.hash(data: key.publicKey.derRepresentation))
            let line = Array((spki + " " + Data(key.pemRepresentation.utf8).base64EncodedString() + "\n").utf8)
            _ = line.withUnsafeBytes { write(keyLog, $0.baseAddress!, $0.count) }
        }
        let csr = try DeviceKey(key).makeCSR(deviceName: "bench")
        let body = try JSONEncoder().encode(EnrollmentCompleteRequest(code: enrollment.code, csr: csr))
        return LoadRequest(
            method: .POST, path: "/v1/enrollments/\(enrollment.id)/complete",
            headers: [("Content-Type", "application/json")], body: Array(body))
    }
}

/// Signed transfers (SPEC §5): `GET /v1/nonce`, then `POST /v1/transfers` signed over that nonce; one operation is
/// both. Transfers go back and forth between the device user's first two accounts so the balance never runs out.
final class SignedTransferScript: LoadScript {
    enum Step { case accounts, nonce, transfer }
    let signer: DeviceKey
    let deviceID: String
    var accounts: (String, String)?
    var last: Step?
    var count = 0

    init(signer: DeviceKey, deviceID: String) {
        self.signer = signer
        self.deviceID = deviceID
    }

    struct ScriptError: Error, CustomStringConvertible {
        let description: String
    }

    func next(after response: LoadResponse?) throws -> LoadRequest? {
        switch last {
        case .accounts:
            let list = try JSONDecoder().decode([AccountInfo].self, from: Data(buffer: response?.body ?? ByteBuffer()))
            guard list.count >= 2 else { throw ScriptError(description: "the device's user needs two accounts") }
            accounts = (list[0].id, list[1].id)
        case .nonce:
            guard let accounts else { throw ScriptError(description: "no accounts") }
            let nonce = try JSONDecoder().decode(NonceResponse.self, from: Data(buffer: response?.body ?? ByteBuffer()))
                .nonce
            let (from, to) = count % 2 == 0 ? accounts : (accounts.1, accounts.0)
            count += 1
            let body = Array(
                try JSONEncoder().encode(TransferRequest(from: from, to: to, amount: "0.01", currency: "EUR")))
            let signature = try RequestSigner.headers(
                method: "POST", target: "/v1/transfers", body: Data(body), nonce: nonce, keyID: deviceID,
                signer: signer)
            last = .transfer
            return LoadRequest(
                method: .POST, path: "/v1/transfers", headers: [("Content-Type", "application/json")] + signature,
                body: body)
        case .transfer, nil:
            break
        }
        if accounts == nil {
            last = .accounts
            return LoadRequest(method: .GET, path: "/v1/accounts", completesOperation: false)
        }
        last = .nonce
        return LoadRequest(method: .GET, path: "/v1/nonce", completesOperation: false)
    }
}

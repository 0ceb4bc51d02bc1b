import LatchkeyProtocol
import HTTPTypes

/// The `Idempotency-Key` request header of `POST /v1/transfers`: a client that lost the answer to a committed
/// transfer repeats the request with the same key (and a fresh nonce and signature) and gets the first result.
///
/// Guarantees: 1 to 255 visible ASCII characters, sent once; the signature must cover it (``SignatureMiddleware``),
/// so nobody on the path can add, drop or change it.
enum IdempotencyKey {
    static let field = HTTPField.Name("Idempotency-Key")!
    /// Its RFC 9421 component name.
    static let component = "idempotency-key"

    /// The key sent with a request, nil if none; 400 `bad_request` for a malformed or repeated header.
    static func from(_ headers: HTTPFields) throws -> String? {
        let values = headers[values: field]
        guard let value = values.first else { return nil }
        guard values.count == 1, (1...255).contains(value.utf8.count),
            value.utf8.allSatisfy({ $0 >= 0x21 && $0 <= 0x7E })
        else { throw Refusal.badRequest("Idempotency-Key must be one header of 1 to 255 visible ASCII characters") }
        return value
    }
}

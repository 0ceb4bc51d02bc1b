import Crypto
import Foundation
import RawStructuredFieldValues

/// RFC 9530 `Content-Digest`: a Structured Field dictionary of algorithm to byte sequence.
public enum ContentDigest {
    /// `sha-256=:BASE64:` for a body.
    public static func sha256(_ body: some DataProtocol) -> String {
        "sha-256=:" + Data(SHA256.hash(data: body)).base64EncodedString() + ":"
    }

    /// `sha-512=:BASE64:` for a body.
    public static func sha512(_ body: some DataProtocol) -> String {
        "sha-512=:" + Data(SHA512.hash(data: body)).base64EncodedString() + ":"
    }

    /// The digests a header carries, by algorithm; nil if it is not a valid dictionary of byte sequences.
    public static func parse(_ header: String) -> [String: Data]? {
        var parser = StructuredFieldValueParser(Array(header.utf8))
        guard let dictionary = try? parser.parseDictionaryFieldValue() else { return nil }
        var result: [String: Data] = [:]
        for (name, member) in dictionary {
            guard case .item(let item) = member, case .undecodedByteSequence(let base64) = item.rfc9651BareItem,
                let bytes = Data(base64Encoded: base64)
            else { return nil }
            result[name] = bytes
        }
        return result
    }

    /// Whether `header` carries a `sha-256` digest equal to the body's.
    public static func matchesSHA256(header: String, body: some DataProtocol) -> Bool {
        guard let digest = parse(header)?["sha-256"] else { return false }
        return digest == Data(SHA256.hash(data: body))
    }
}

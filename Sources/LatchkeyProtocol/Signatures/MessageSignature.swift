import Crypto
import Foundation
import RawStructuredFieldValues
import _CryptoExtras

/// The algorithms of SPEC §5, by their RFC 9421 names.
public enum SignatureAlgorithm: String, Sendable, CaseIterable {
    case ecdsaP256SHA256 = "ecdsa-p256-sha256"
    case ecdsaP384SHA384 = "ecdsa-p384-sha384"
    case rsaPSSSHA512 = "rsa-pss-sha512"
}

/// A public key that can check a signature over a signature base.
public enum SignatureVerificationKey: Sendable {
    case p256(P256.Signing.PublicKey)
    case p384(P384.Signing.PublicKey)
    case rsa(_RSA.Signing.PublicKey)

    /// The algorithm this key signs with.
    public var algorithm: SignatureAlgorithm {
        switch self {
        case .p256: return .ecdsaP256SHA256
        case .p384: return .ecdsaP384SHA384
        case .rsa: return .rsaPSSSHA512
        }
    }

    /// Checks `signature` (ECDSA as raw r||s, RFC 9421 §3.3.4) over the UTF-8 bytes of `base`.
    public func isValid(signature: Data, base: String) -> Bool {
        let bytes = Data(base.utf8)
        switch self {
        case .p256(let key):
            guard let parsed = try? P256.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(parsed, for: SHA256.hash(data: bytes))
        case .p384(let key):
            guard let parsed = try? P384.Signing.ECDSASignature(rawRepresentation: signature) else { return false }
            return key.isValidSignature(parsed, for: SHA384.hash(data: bytes))
        case .rsa(let key):
            return key.isValidSignature(
                _RSA.Signing.RSASignature(rawRepresentation: signature), for: SHA512.hash(data: bytes), padding: .PSS)
        }
    }
}

/// A private key that signs signature bases, for the client SDK.
public protocol MessageSigner: Sendable {
    var algorithm: SignatureAlgorithm { get }
    /// The signature over the UTF-8 bytes of `base` (ECDSA as raw r||s).
    func sign(base: String) throws -> Data
}

/// The `sig1` signature of a request, read from its `Signature-Input` and `Signature` fields.
public struct ReceivedSignature: Sendable {
    public let parameters: SignatureParameters
    /// The member of `Signature-Input` exactly as serialized for `@signature-params`.
    public let signatureInput: String
    public let signature: Data

    public enum Problem: Error, Sendable, Equatable {
        /// No `Signature-Input`/`Signature` fields, or no `sig1` member in them.
        case missing
        /// The fields exist but cannot be parsed.
        case malformed(String)
    }

    /// Reads the member labelled `label`; other labels are ignored (SPEC §5).
    public static func parse(signatureInput: String?, signature: String?, label: String = "sig1") throws(Problem)
        -> ReceivedSignature
    {
        guard let signatureInput, let signature else { throw .missing }
        var inputParser = StructuredFieldValueParser(Array(signatureInput.utf8))
        var signatureParser = StructuredFieldValueParser(Array(signature.utf8))
        guard let inputs = try? inputParser.parseDictionaryFieldValue() else {
            throw .malformed("Signature-Input is not a structured dictionary")
        }
        guard let signatures = try? signatureParser.parseDictionaryFieldValue() else {
            throw .malformed("Signature is not a structured dictionary")
        }
        guard let input = inputs[label], let value = signatures[label] else { throw .missing }
        guard case .innerList(let list) = input else { throw .malformed("the \(label) input is not an inner list") }
        guard case .item(let item) = value, case .undecodedByteSequence(let base64) = item.rfc9651BareItem,
            let bytes = Data(base64Encoded: base64)
        else { throw .malformed("the \(label) signature is not a byte sequence") }
        var components: [String] = []
        for element in list.bareInnerList {
            guard case .string(let name) = element.rfc9651BareItem, element.rfc9651Parameters.isEmpty else {
                throw .malformed("covered components must be plain strings")
            }
            components.append(name)
        }
        var parameters = SignatureParameters(components: components)
        for (name, value) in list.rfc9651Parameters {
            switch (name, value) {
            case ("created", .integer(let created)): parameters.created = Int(truncatingIfNeeded: created)
            case ("nonce", .string(let nonce)): parameters.nonce = nonce
            case ("keyid", .string(let keyID)): parameters.keyID = keyID
            case ("alg", .string(let algorithm)): parameters.algorithm = algorithm
            case ("created", _), ("nonce", _), ("keyid", _), ("alg", _):
                throw .malformed("the parameter \(name) has the wrong type")
            default: continue
            }
        }
        // `@signature-params` is the member re-serialized as a Structured Field, parameters in the sender's order.
        var serializer = StructuredFieldValueSerializer()
        var single = OrderedMap<String, ItemOrInnerList>()
        single[label] = input
        guard let serialized = try? serializer.writeDictionaryFieldValue(single) else {
            throw .malformed("the \(label) input cannot be serialized")
        }
        let member = String(decoding: serialized.dropFirst(label.utf8.count + 1), as: UTF8.self)
        return ReceivedSignature(parameters: parameters, signatureInput: member, signature: bytes)
    }
}

/// Signs a request as SPEC §5 says: `sig1` over `@method @path @query [content-digest]` with created, nonce, keyid, alg;
/// `covering` adds header fields that are sent and signed too (such as `Idempotency-Key`).
public enum RequestSigner {
    /// The header fields to add to a request: `Content-Digest` (when there is a body), `Signature-Input`, `Signature`.
    public static func headers(
        method: String, target: String, body: Data?, nonce: String, keyID: String, signer: some MessageSigner,
        created: Date = Date(), covering extraFields: [(name: String, value: String)] = []
    ) throws -> [(String, String)] {
        try signed(
            method: method, target: target, body: body, nonce: nonce, keyID: keyID, signer: signer, created: created,
            covering: extraFields
        ).headers
    }

    /// The header fields to add and the signature base they sign: an App Attest device makes its `App-Assertion`
    /// over that base (SPEC §6), ``AppAssertionHeader``.
    public static func signed(
        method: String, target: String, body: Data?, nonce: String, keyID: String, signer: some MessageSigner,
        created: Date = Date(), covering extraFields: [(name: String, value: String)] = []
    ) throws -> (headers: [(String, String)], base: String) {
        var fields: [String: String] = [:]
        var components = ["@method", "@path", "@query"]
        var result: [(String, String)] = []
        if let body, !body.isEmpty {
            let digest = ContentDigest.sha256(body)
            fields["content-digest"] = digest
            components.append("content-digest")
            result.append(("Content-Digest", digest))
        }
        for field in extraFields {
            fields[field.name.lowercased()] = field.value
            components.append(field.name.lowercased())
            result.append((field.name, field.value))
        }
        let parameters = SignatureParameters(
            components: components, created: Int(created.timeIntervalSince1970), nonce: nonce, keyID: keyID,
            algorithm: signer.algorithm.rawValue)
        let base = try SignatureBase.build(
            HTTPMessageParts(method: method, target: target, fields: fields), parameters: parameters)
        let signature = try signer.sign(base: base)
        result.append(("Signature-Input", "sig1=" + parameters.serialized()))
        result.append(("Signature", "sig1=:" + signature.base64EncodedString() + ":"))
        return (result, base)
    }
}

/// The `App-Assertion` header of an App Attest device's signed request: an RFC 8941 byte sequence (SPEC §6).
public enum AppAssertionHeader {
    public static let name = "App-Assertion"

    public static func value(_ assertion: [UInt8]) -> String { ":" + Data(assertion).base64EncodedString() + ":" }

    /// The assertion's bytes, or nil unless the value is exactly one byte sequence without parameters, of at most
    /// 16 KiB of base64. Padding may be left out (RFC 8941: parsers should accept that).
    public static func parse(_ value: String) -> [UInt8]? {
        var parser = StructuredFieldValueParser(Array(value.utf8))
        guard let item = try? parser.parseItemFieldValue(), item.parameters.isEmpty,
            case .undecodedByteSequence(let base64) = item.bareItem, !base64.isEmpty, base64.utf8.count <= 16_384
        else { return nil }
        let padded = base64 + String(repeating: "=", count: (4 - base64.utf8.count % 4) % 4)
        return Data(base64Encoded: padded).map(Array.init)
    }
}

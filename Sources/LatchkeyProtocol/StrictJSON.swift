import Foundation

/// A request body whose JSON object may hold only `allowedFields`.
public protocol StrictRequestBody: Decodable {
    static var allowedFields: Set<String> { get }
    /// The fields allowed in an object-valued field, by that field's name.
    static var nestedAllowedFields: [String: Set<String>] { get }
}

extension StrictRequestBody {
    public static var nestedAllowedFields: [String: Set<String>] { [:] }
}

extension EnrollmentStartRequest: StrictRequestBody {
    public static let allowedFields: Set<String> = ["username", "password", "device_name"]
}

extension EnrollmentCompleteRequest: StrictRequestBody {
    public static let allowedFields: Set<String> = ["code", "csr", "attestation"]
    public static let nestedAllowedFields: [String: Set<String>] = [
        "attestation": ["format", "key_id", "attestation_object", "certificate_chain"]
    ]
}

extension RenewRequest: StrictRequestBody {
    public static let allowedFields: Set<String> = ["csr"]
}

extension TransferRequest: StrictRequestBody {
    public static let allowedFields: Set<String> = ["from", "to", "amount", "currency"]
}

/// Decodes request bodies strictly: a JSON object with only known fields, each of the right type.
///
/// Guarantees: malformed JSON, anything but UTF-8 without a byte order mark, a field named twice (``JSONSyntax``), a
/// non-object, an unknown field, a missing field or a wrong type is a ``Problem`` naming it (the server answers 400
/// `bad_request`); no input makes it trap.
public enum StrictJSON {
    public struct Problem: Error, Sendable, Equatable {
        public let message: String
    }

    public static func decode<T: StrictRequestBody>(_ type: T.Type, from data: Data) throws(Problem) -> T {
        guard !data.isEmpty else { throw Problem(message: "the request body is empty; a JSON object is required") }
        do {
            try JSONSyntax.check(Array(data))
        } catch {
            throw Problem(message: error.message)
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw Problem(message: "the request body is not valid JSON")
        }
        guard let fields = object as? [String: Any] else {
            throw Problem(message: "the request body must be a JSON object")
        }
        let unknown = Set(fields.keys).subtracting(T.allowedFields).sorted()
        guard unknown.isEmpty else {
            throw Problem(message: "unknown field(s): \(unknown.joined(separator: ", "))")
        }
        for (name, allowed) in T.nestedAllowedFields {
            guard let nested = fields[name] as? [String: Any] else { continue }
            let unknown = Set(nested.keys).subtracting(allowed).sorted()
            guard unknown.isEmpty else {
                throw Problem(message: "unknown field(s) in \(name): \(unknown.joined(separator: ", "))")
            }
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch DecodingError.keyNotFound(let key, _) {
            throw Problem(message: "the field '\(key.stringValue)' is required")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw Problem(message: "the field '\(field)' has the wrong type")
        } catch {
            throw Problem(message: "the request body does not match the expected fields")
        }
    }
}

import Foundation
import NIOCore

/// Decodes request bodies strictly: a JSON object with only known fields, each of the right type.
///
/// Guarantees: malformed JSON, a non-object, an unknown field, a missing field or a wrong type is a 400
/// `bad_request` naming the problem; it never becomes a 500.
enum StrictJSON {
    static func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer, allowedFields: Set<String>) throws -> T {
        let data = Data(buffer.readableBytesView)
        guard !data.isEmpty else { throw APIError.badRequest("the request body is empty; a JSON object is required") }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: data, options: [])
        } catch {
            throw APIError.badRequest("the request body is not valid JSON")
        }
        guard let fields = object as? [String: Any] else {
            throw APIError.badRequest("the request body must be a JSON object")
        }
        let unknown = Set(fields.keys).subtracting(allowedFields).sorted()
        guard unknown.isEmpty else {
            throw APIError.badRequest("unknown field(s): \(unknown.joined(separator: ", "))")
        }
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch DecodingError.keyNotFound(let key, _) {
            throw APIError.badRequest("the field '\(key.stringValue)' is required")
        } catch DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context) {
            let field = context.codingPath.map(\.stringValue).joined(separator: ".")
            throw APIError.badRequest("the field '\(field)' has the wrong type")
        } catch {
            throw APIError.badRequest("the request body does not match the expected fields")
        }
    }
}

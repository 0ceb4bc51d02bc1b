import Foundation
import RawStructuredFieldValues

/// The parts of an HTTP message a signature can cover (RFC 9421 §2): derived components and header fields.
public struct HTTPMessageParts: Sendable {
    public var method: String?
    /// The path, percent-encoded as on the wire, without the query.
    public var path: String?
    /// The query without its leading "?", or nil when the target has none.
    public var query: String?
    public var status: Int?
    /// Header fields by lowercase name; repeated fields are already combined with ", ".
    public var fields: [String: String]

    public init(
        method: String? = nil, path: String? = nil, query: String? = nil, status: Int? = nil,
        fields: [String: String] = [:]
    ) {
        self.method = method
        self.path = path
        self.query = query
        self.status = status
        self.fields = fields
    }

    /// A request from its method and request target (`/path?query`).
    public init(method: String, target: String, fields: [String: String]) {
        let parts = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        self.init(
            method: method, path: parts.first.map(String.init) ?? "/", query: parts.count > 1 ? String(parts[1]) : nil,
            fields: fields)
    }
}

/// The signature parameters of RFC 9421 §2.3 that Latchkey uses, in the order they are serialized.
public struct SignatureParameters: Sendable, Equatable {
    /// Covered component identifiers, such as `@method` or `content-digest`, in order.
    public var components: [String]
    public var created: Int?
    public var nonce: String?
    public var keyID: String?
    public var algorithm: String?

    public init(
        components: [String], created: Int? = nil, nonce: String? = nil, keyID: String? = nil, algorithm: String? = nil
    ) {
        self.components = components
        self.created = created
        self.nonce = nonce
        self.keyID = keyID
        self.algorithm = algorithm
    }

    /// The inner list with parameters, as `Signature-Input` carries it and `@signature-params` covers it.
    public func serialized() -> String {
        var text = "(" + components.map { SignatureBase.quote($0) }.joined(separator: " ") + ")"
        if let created { text += ";created=\(created)" }
        if let nonce { text += ";nonce=" + SignatureBase.quote(nonce) }
        if let keyID { text += ";keyid=" + SignatureBase.quote(keyID) }
        if let algorithm { text += ";alg=" + SignatureBase.quote(algorithm) }
        return text
    }
}

/// A signature-base refusal: the message lacks a covered component, or a value cannot be represented.
public struct SignatureBaseError: Error, Sendable, Equatable, CustomStringConvertible {
    public let description: String
}

/// Builds the signature base of RFC 9421 §2.5.
///
/// Guarantees: one line per covered component, `"name": value`, in the order covered, then the
/// `"@signature-params"` line; no trailing newline. A covered component the message lacks is an error.
public enum SignatureBase {
    public static func build(_ message: HTTPMessageParts, parameters: SignatureParameters) throws -> String {
        try build(message, components: parameters.components, signatureParams: parameters.serialized())
    }

    /// The base for a received signature: `signatureParams` is its `Signature-Input` member as received.
    public static func build(_ message: HTTPMessageParts, components: [String], signatureParams: String) throws
        -> String
    {
        var lines: [String] = []
        for component in components {
            lines.append(quote(component) + ": " + (try value(of: component, in: message)))
        }
        lines.append("\"@signature-params\": " + signatureParams)
        return lines.joined(separator: "\n")
    }

    static func value(of component: String, in message: HTTPMessageParts) throws -> String {
        switch component {
        case "@method":
            guard let method = message.method else { throw SignatureBaseError(description: "no @method") }
            return method.uppercased()
        case "@path":
            guard let path = message.path, !path.isEmpty else { throw SignatureBaseError(description: "no @path") }
            return path
        case "@query":
            return "?" + (message.query ?? "")
        case "@status":
            guard let status = message.status else { throw SignatureBaseError(description: "no @status") }
            return String(status)
        default:
            guard !component.hasPrefix("@") else {
                throw SignatureBaseError(description: "the component \(component) is not supported")
            }
            guard let value = message.fields[component.lowercased()] else {
                throw SignatureBaseError(description: "the covered field \(component) is missing")
            }
            guard !value.contains(where: { $0 == "\n" || $0 == "\r" }) else {
                throw SignatureBaseError(description: "the field \(component) contains a line break")
            }
            return value.trimmingCharacters(in: .whitespaces)
        }
    }

    /// An sf-string: double quotes with `\` and `"` escaped.
    static func quote(_ text: String) -> String {
        var out = "\""
        out.reserveCapacity(text.utf8.count + 2)
        for character in text.unicodeScalars {
            if character == "\\" || character == "\"" { out.unicodeScalars.append("\\") }
            out.unicodeScalars.append(character)
        }
        out += "\""
        return out
    }
}

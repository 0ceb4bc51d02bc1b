import Foundation

/// The `App-Assertion` header: one RFC 8941 byte sequence, `:BASE64:` (SPEC §6).
enum AssertionHeader {
    /// The assertion's bytes, or nil if the value is not exactly one well-formed byte sequence.
    static func parse(_ value: String) -> [UInt8]? {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard trimmed.count >= 2, trimmed.first == ":", trimmed.last == ":" else { return nil }
        let inner = trimmed.dropFirst().dropLast()
        guard !inner.isEmpty, inner.count <= 16_384,
            inner.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "+" || $0 == "/" || $0 == "=") }),
            // RFC 8941: a parser should accept a byte sequence without its padding.
            let bytes = Data(base64Encoded: String(inner) + String(repeating: "=", count: (4 - inner.count % 4) % 4))
        else { return nil }
        return Array(bytes)
    }
}

/// A strict check of JSON text before it is decoded (RFC 8259, with the I-JSON rules of RFC 7493 that matter here).
///
/// Guarantees: accepts only UTF-8 without a byte order mark; refuses a name that occurs twice in one object (also
/// when spelled with escapes, such as `"amount"` and `"\u0061mount"`), so no reader can act on a value other than
/// the one signed and audited; refuses lone surrogate escapes, nesting deeper than 32 levels and trailing data.
/// Never traps on any input.
public enum JSONSyntax {
    public struct Problem: Error, Sendable, Equatable {
        public let message: String
    }

    public static func check(_ bytes: [UInt8]) throws(Problem) {
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) || bytes.starts(with: [0xFE, 0xFF])
            || bytes.starts(with: [0xFF, 0xFE])
        {
            throw Problem(message: "the request body must be UTF-8 JSON without a byte order mark")
        }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw Problem(message: "the request body must be UTF-8 JSON")
        }
        var parser = Parser(bytes: bytes)
        try parser.skipSpace()
        try parser.value(depth: 0)
        try parser.skipSpace()
        guard parser.index == bytes.count else { throw Problem(message: "the request body has data after its JSON") }
    }

    struct Parser {
        let bytes: [UInt8]
        var index = 0
        static let maximumDepth = 32

        var current: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipSpace() throws(Problem) {
            while let byte = current, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        mutating func expect(_ byte: UInt8) throws(Problem) {
            guard current == byte else { throw Problem(message: "the request body is not valid JSON") }
            index += 1
        }

        mutating func literal(_ text: String) throws(Problem) {
            for byte in text.utf8 { try expect(byte) }
        }

        mutating func value(depth: Int) throws(Problem) {
            guard depth < Self.maximumDepth else { throw Problem(message: "the request body is nested too deeply") }
            switch current {
            case 0x7B: try object(depth: depth)
            case 0x5B: try array(depth: depth)
            case 0x22: _ = try string()
            case 0x74: try literal("true")
            case 0x66: try literal("false")
            case 0x6E: try literal("null")
            case .some(let byte) where byte == 0x2D || (byte >= 0x30 && byte <= 0x39): try number()
            default: throw Problem(message: "the request body is not valid JSON")
            }
        }

        mutating func object(depth: Int) throws(Problem) {
            try expect(0x7B)
            try skipSpace()
            var names: Set<[UInt16]> = []
            if current == 0x7D {
                index += 1
                return
            }
            while true {
                try skipSpace()
                let name = try string()
                guard names.insert(name).inserted else {
                    throw Problem(message: "the request body names a field twice in one object")
                }
                try skipSpace()
                try expect(0x3A)
                try skipSpace()
                try value(depth: depth + 1)
                try skipSpace()
                if current == 0x2C {
                    index += 1
                    continue
                }
                try expect(0x7D)
                return
            }
        }

        mutating func array(depth: Int) throws(Problem) {
            try expect(0x5B)
            try skipSpace()
            if current == 0x5D {
                index += 1
                return
            }
            while true {
                try skipSpace()
                try value(depth: depth + 1)
                try skipSpace()
                if current == 0x2C {
                    index += 1
                    continue
                }
                try expect(0x5D)
                return
            }
        }

        /// A string, decoded to UTF-16 code units (escapes resolved) so that differently spelled names compare
        /// equal.
        mutating func string() throws(Problem) -> [UInt16] {
            try expect(0x22)
            var units: [UInt16] = []
            var start = index
            func flush(_ end: Int) {
                if start < end { units.append(contentsOf: String(decoding: bytes[start..<end], as: UTF8.self).utf16) }
            }
            while let byte = current {
                switch byte {
                case 0x22:
                    flush(index)
                    index += 1
                    try checkSurrogates(units)
                    return units
                case 0x5C:
                    flush(index)
                    index += 1
                    guard let escape = current else { break }
                    index += 1
                    switch escape {
                    case 0x22, 0x5C, 0x2F: units.append(UInt16(escape))
                    case 0x62: units.append(0x08)
                    case 0x66: units.append(0x0C)
                    case 0x6E: units.append(0x0A)
                    case 0x72: units.append(0x0D)
                    case 0x74: units.append(0x09)
                    case 0x75:
                        guard index + 4 <= bytes.count, let unit = UInt16(String(decoding: bytes[index..<index + 4], as: UTF8.self), radix: 16)
                        else { throw Problem(message: "the request body has a malformed \\u escape") }
                        units.append(unit)
                        index += 4
                    default: throw Problem(message: "the request body has a malformed escape")
                    }
                    start = index
                case 0x00...0x1F:
                    throw Problem(message: "the request body has a control character inside a string")
                default:
                    index += 1
                }
            }
            throw Problem(message: "the request body has an unterminated string")
        }

        func checkSurrogates(_ units: [UInt16]) throws(Problem) {
            var i = 0
            while i < units.count {
                let unit = units[i]
                if (0xD800...0xDBFF).contains(unit) {
                    guard i + 1 < units.count, (0xDC00...0xDFFF).contains(units[i + 1]) else {
                        throw Problem(message: "the request body has a lone surrogate")
                    }
                    i += 2
                    continue
                }
                if (0xDC00...0xDFFF).contains(unit) { throw Problem(message: "the request body has a lone surrogate") }
                i += 1
            }
        }

        mutating func number() throws(Problem) {
            if current == 0x2D { index += 1 }
            guard let first = current, first >= 0x30 && first <= 0x39 else {
                throw Problem(message: "the request body has a malformed number")
            }
            index += 1
            if first != 0x30 { digits() }
            if current == 0x2E {
                index += 1
                guard try requireDigit() else { throw Problem(message: "the request body has a malformed number") }
            }
            if current == 0x65 || current == 0x45 {
                index += 1
                if current == 0x2B || current == 0x2D { index += 1 }
                guard try requireDigit() else { throw Problem(message: "the request body has a malformed number") }
            }
        }

        mutating func digits() {
            while let byte = current, byte >= 0x30 && byte <= 0x39 { index += 1 }
        }

        mutating func requireDigit() throws(Problem) -> Bool {
            guard let byte = current, byte >= 0x30 && byte <= 0x39 else { return false }
            digits()
            return true
        }
    }
}

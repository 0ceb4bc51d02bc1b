/// A decoded CBOR data item of the subset attestations use (RFC 8949 major types 0 to 5, definite lengths).
public indirect enum CBORValue: Sendable, Equatable {
    case unsigned(UInt64)
    /// A negative integer: the value is `-1 - n`.
    case negative(UInt64)
    case bytes([UInt8])
    case text(String)
    case array([CBORValue])
    /// A map in its encoded order; keys are unique.
    case map([(key: CBORValue, value: CBORValue)])

    public static func == (lhs: CBORValue, rhs: CBORValue) -> Bool {
        switch (lhs, rhs) {
        case (.unsigned(let a), .unsigned(let b)), (.negative(let a), .negative(let b)): return a == b
        case (.bytes(let a), .bytes(let b)): return a == b
        case (.text(let a), .text(let b)): return a == b
        case (.array(let a), .array(let b)): return a == b
        case (.map(let a), .map(let b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }

    /// The value of a map's entry under a text key.
    public subscript(text key: String) -> CBORValue? { self[.text(key)] }

    /// The value of a map's entry under an integer key (COSE labels).
    public subscript(int key: Int) -> CBORValue? {
        self[key >= 0 ? .unsigned(UInt64(key)) : .negative(UInt64(-1 - key))]
    }

    subscript(key: CBORValue) -> CBORValue? {
        guard case .map(let entries) = self else { return nil }
        return entries.first { $0.key == key }?.value
    }

    public var byteString: [UInt8]? { if case .bytes(let b) = self { return b } else { return nil } }
    public var textString: String? { if case .text(let t) = self { return t } else { return nil } }
    public var arrayItems: [CBORValue]? { if case .array(let a) = self { return a } else { return nil } }
    public var isMap: Bool { if case .map = self { return true } else { return false } }
}

/// Why a CBOR input was refused, with the byte offset where reading stopped.
public struct CBORError: Error, Sendable, Equatable, CustomStringConvertible {
    public let offset: Int
    public let reason: String
    public var description: String { "CBOR at byte \(offset): \(reason)" }
}

/// A strict reader of CBOR: major types 0 to 5 with definite lengths only (non-shortest heads are read); tags,
/// floats, simple values, indefinite lengths, duplicate map keys, invalid UTF-8 text, nesting deeper than
/// `maximumDepth` and containers of more than `maximumContainerItems` are refused. `decode` refuses trailing bytes; `readItem` reads one item and says where it ended,
/// so a caller keeps the exact byte range of each item.
public struct CBORReader {
    public static let maximumDepth = 16
    /// Items in one array or map: attestation objects and COSE keys hold a handful, so the duplicate-key check
    /// (linear per key) stays cheap.
    public static let maximumContainerItems = 64
    private let bytes: [UInt8]
    public private(set) var offset: Int

    public init(_ bytes: [UInt8], offset: Int = 0) {
        self.bytes = bytes
        self.offset = offset
    }

    /// Decodes exactly one item that spans all of `bytes`.
    public static func decode(_ bytes: [UInt8]) throws(CBORError) -> CBORValue {
        var reader = CBORReader(bytes)
        let value = try reader.readItem()
        guard reader.offset == bytes.count else {
            throw CBORError(offset: reader.offset, reason: "\(bytes.count - reader.offset) bytes follow the item")
        }
        return value
    }

    public var isAtEnd: Bool { offset >= bytes.count }

    /// Reads the next item and advances past it.
    public mutating func readItem() throws(CBORError) -> CBORValue {
        try readItem(depth: 0)
    }

    private mutating func readItem(depth: Int) throws(CBORError) -> CBORValue {
        guard depth <= Self.maximumDepth else { throw fail("nesting deeper than \(Self.maximumDepth)") }
        let start = offset
        let initial = try byte()
        let major = initial >> 5
        let argument = try readArgument(initial & 0x1F, major: major)
        switch major {
        case 0: return .unsigned(argument)
        case 1: return .negative(argument)
        case 2: return .bytes(try take(argument))
        case 3:
            let raw = try take(argument)
            guard let text = String(validating: raw, as: UTF8.self) else {
                offset = start
                throw fail("a text string is not valid UTF-8")
            }
            return .text(text)
        case 4:
            guard argument <= UInt64(bytes.count - offset) else { throw fail("an array longer than the input") }
            guard argument <= UInt64(Self.maximumContainerItems) else {
                throw fail("an array of more than \(Self.maximumContainerItems) items")
            }
            var items: [CBORValue] = []
            items.reserveCapacity(Int(argument))
            for _ in 0..<argument { items.append(try readItem(depth: depth + 1)) }
            return .array(items)
        case 5:
            guard argument <= UInt64(bytes.count - offset) / 2 else { throw fail("a map longer than the input") }
            guard argument <= UInt64(Self.maximumContainerItems) else {
                throw fail("a map of more than \(Self.maximumContainerItems) entries")
            }
            var entries: [(key: CBORValue, value: CBORValue)] = []
            for _ in 0..<argument {
                let keyOffset = offset
                let key = try readItem(depth: depth + 1)
                if entries.contains(where: { $0.key == key }) {
                    offset = keyOffset
                    throw fail("a map key occurs twice")
                }
                entries.append((key, try readItem(depth: depth + 1)))
            }
            return .map(entries)
        case 6:
            offset = start
            throw fail("tags are not accepted")
        default:
            offset = start
            throw fail("floats and simple values are not accepted")
        }
    }

    private mutating func readArgument(_ info: UInt8, major: UInt8) throws(CBORError) -> UInt64 {
        switch info {
        case 0..<24: return UInt64(info)
        case 24: return UInt64(try byte())
        case 25: return try bigEndian(2)
        case 26: return try bigEndian(4)
        case 27: return try bigEndian(8)
        case 31: throw fail("indefinite lengths are not accepted")
        default: throw fail("reserved additional information \(info)")
        }
    }

    private mutating func bigEndian(_ count: Int) throws(CBORError) -> UInt64 {
        var value: UInt64 = 0
        for _ in 0..<count { value = value << 8 | UInt64(try byte()) }
        return value
    }

    private mutating func byte() throws(CBORError) -> UInt8 {
        guard offset < bytes.count else { throw fail("the input ends inside an item") }
        defer { offset += 1 }
        return bytes[offset]
    }

    private mutating func take(_ count: UInt64) throws(CBORError) -> [UInt8] {
        guard count <= UInt64(bytes.count - offset) else { throw fail("a string longer than the input") }
        let end = offset + Int(count)
        defer { offset = end }
        return Array(bytes[offset..<end])
    }

    private func fail(_ reason: String) -> CBORError { CBORError(offset: offset, reason: reason) }
}

/// Encodes the same subset of CBOR (shortest heads, maps in the given order): for attestations made under a test
/// root (``AttestationSimulator``) and for tests.
public enum CBORWriter {
    public static func encode(_ value: CBORValue) -> [UInt8] {
        var out: [UInt8] = []
        write(value, into: &out)
        return out
    }

    private static func write(_ value: CBORValue, into out: inout [UInt8]) {
        switch value {
        case .unsigned(let n): head(0, n, &out)
        case .negative(let n): head(1, n, &out)
        case .bytes(let b):
            head(2, UInt64(b.count), &out)
            out += b
        case .text(let t):
            head(3, UInt64(t.utf8.count), &out)
            out += Array(t.utf8)
        case .array(let items):
            head(4, UInt64(items.count), &out)
            for item in items { write(item, into: &out) }
        case .map(let entries):
            head(5, UInt64(entries.count), &out)
            for entry in entries {
                write(entry.key, into: &out)
                write(entry.value, into: &out)
            }
        }
    }

    private static func head(_ major: UInt8, _ n: UInt64, _ out: inout [UInt8]) {
        let m = major << 5
        switch n {
        case 0..<24: out.append(m | UInt8(n))
        case 24...0xFF: out += [m | 24, UInt8(n)]
        case 0x100...0xFFFF: out += [m | 25, UInt8(n >> 8), UInt8(n & 0xFF)]
        case 0x10000...0xFFFF_FFFF: out += [m | 26] + (0..<4).reversed().map { UInt8((n >> (8 * $0)) & 0xFF) }
        default: out += [m | 27] + (0..<8).reversed().map { UInt8((n >> (8 * UInt64($0))) & 0xFF) }
        }
    }
}

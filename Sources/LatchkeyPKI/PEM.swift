import SwiftASN1
import X509

/// PEM (RFC 7468) encoding and decoding on UTF-8 bytes.
///
/// swift-asn1's `PEMDocument` works on `String` indices and Foundation trimming, which cost as much as an ECDSA
/// signature per certificate on the issuance path; this does the same job in one pass over the bytes.
public enum PEM {
    static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
    static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        return table
    }()

    /// `-----BEGIN LABEL-----`, base64 in 64-character lines, `-----END LABEL-----`, each line ending in "\n".
    public static func encode(_ der: [UInt8], label: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(der.count * 4 / 3 + der.count / 48 + 64)
        out += Array("-----BEGIN \(label)-----\n".utf8)
        var column = 0
        var index = 0
        func emit(_ byte: UInt8) {
            out.append(byte)
            column += 1
            if column == 64 {
                out.append(0x0A)
                column = 0
            }
        }
        while index + 3 <= der.count {
            let n = UInt32(der[index]) << 16 | UInt32(der[index + 1]) << 8 | UInt32(der[index + 2])
            emit(alphabet[Int(n >> 18 & 63)])
            emit(alphabet[Int(n >> 12 & 63)])
            emit(alphabet[Int(n >> 6 & 63)])
            emit(alphabet[Int(n & 63)])
            index += 3
        }
        let rest = der.count - index
        if rest > 0 {
            let n = UInt32(der[index]) << 16 | (rest == 2 ? UInt32(der[index + 1]) << 8 : 0)
            emit(alphabet[Int(n >> 18 & 63)])
            emit(alphabet[Int(n >> 12 & 63)])
            emit(rest == 2 ? alphabet[Int(n >> 6 & 63)] : 0x3D)
            emit(0x3D)
        }
        if column != 0 { out.append(0x0A) }
        out += Array("-----END \(label)-----\n".utf8)
        return String(decoding: out, as: UTF8.self)
    }

    /// The label and DER bytes of the first PEM block in `text`, or nil if there is none or its base64 is invalid.
    public static func decode(_ text: String) -> (label: String, der: [UInt8])? {
        let bytes = Array(text.utf8)
        let begin = Array("-----BEGIN ".utf8)
        guard let start = firstIndex(of: begin, in: bytes, from: 0) else { return nil }
        guard let labelEnd = firstIndex(of: Array("-----".utf8), in: bytes, from: start + begin.count) else {
            return nil
        }
        let label = String(decoding: bytes[(start + begin.count)..<labelEnd], as: UTF8.self)
        let end = Array("-----END \(label)-----".utf8)
        guard let bodyEnd = firstIndex(of: end, in: bytes, from: labelEnd + 5) else { return nil }
        var der: [UInt8] = []
        der.reserveCapacity((bodyEnd - labelEnd) * 3 / 4)
        var accumulator: UInt32 = 0
        var count = 0
        var padding = 0
        for byte in bytes[(labelEnd + 5)..<bodyEnd] {
            switch byte {
            case 0x0A, 0x0D, 0x20, 0x09: continue
            case 0x3D:
                padding += 1
                accumulator <<= 6
                count += 1
            default:
                guard padding == 0 else { return nil }
                let value = decodeTable[Int(byte)]
                guard value != 0xFF else { return nil }
                accumulator = accumulator << 6 | UInt32(value)
                count += 1
            }
            if count == 4 {
                der.append(UInt8(accumulator >> 16 & 0xFF))
                if padding < 2 { der.append(UInt8(accumulator >> 8 & 0xFF)) }
                if padding < 1 { der.append(UInt8(accumulator & 0xFF)) }
                accumulator = 0
                count = 0
            }
        }
        guard count == 0, padding <= 2 else { return nil }
        return (label, der)
    }

    static func firstIndex(of needle: [UInt8], in haystack: [UInt8], from: Int) -> Int? {
        guard needle.count <= haystack.count, from <= haystack.count - needle.count else { return nil }
        var index = from
        while index <= haystack.count - needle.count {
            if haystack[index] == needle[0] && haystack[index..<(index + needle.count)].elementsEqual(needle) {
                return index
            }
            index += 1
        }
        return nil
    }
}

extension Certificate {
    /// The certificate as PEM text (fast path of ``PEM``).
    public func pemText() throws -> String {
        PEM.encode(try DERBytes.serialized(self), label: "CERTIFICATE")
    }
}

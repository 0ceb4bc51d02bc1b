import Foundation

/// The network a client address is counted under by per-address limits.
///
/// Guarantees: an IPv4 address counts as itself (IPv4-mapped IPv6 addresses as their IPv4 address); an IPv6 address
/// counts as its /64, the smallest network one subscriber is given, so rotating through the addresses of one's own
/// /64 does not reset a limit. Anything unparsable counts as itself.
enum AddressPrefix {
    static func limitKey(for address: String) -> String {
        guard let bytes = AddressRange.bytes(address), bytes.count == 16 else { return address }
        if bytes[0..<10].allSatisfy({ $0 == 0 }) && bytes[10] == 0xFF && bytes[11] == 0xFF {
            return bytes[12..<16].map(String.init).joined(separator: ".")
        }
        let groups = stride(from: 0, to: 8, by: 2).map { String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16) }
        return groups.joined(separator: ":") + "::/64"
    }
}

import Foundation
import LatchkeyPKI

/// Google's attestation status list (`https://android.googleapis.com/attestation/status`):
/// `{"entries": {"<serial>": {"status": "REVOKED"|"SUSPENDED", ...}}}`, serials in lowercase hex (older entries in
/// decimal).
///
/// Guarantees: both statuses refuse; an entry matches a certificate whose serial is the same number, in hex (any
/// case, leading zeros ignored) or decimal.
public struct AndroidRevocationList: Sendable, Equatable {
    /// Serial (normalized lowercase hex without leading zeros, or decimal) → status.
    public let entries: [String: String]
    /// When the operator installed it (the file's modification time): a list older than the server's maximum age is
    /// not trusted.
    public let installedAt: Date

    public init(entries: [String: String], installedAt: Date) {
        var normalized: [String: String] = [:]
        for (serial, status) in entries { normalized[Self.normalize(serial)] = status }
        self.entries = normalized
        self.installedAt = installedAt
    }

    /// Parses Google's JSON; refuses anything without an `entries` object whose values each have a `status`.
    public init(json: Data, installedAt: Date) throws(AttestationError) {
        guard let object = try? JSONSerialization.jsonObject(with: json) as? [String: Any],
            let entries = object["entries"] as? [String: Any]
        else {
            throw AttestationError(.invalid, check: "revocation_list", "the file is not Google's status list format")
        }
        var statuses: [String: String] = [:]
        for (serial, value) in entries {
            guard !serial.isEmpty, serial.count <= 64, serial.allSatisfy(\.isHexDigit) else {
                throw AttestationError(
                    .invalid, check: "revocation_list", "an entry's serial is not a hexadecimal or decimal number")
            }
            guard let entry = value as? [String: Any], let status = entry["status"] as? String else {
                throw AttestationError(.invalid, check: "revocation_list", "an entry has no status")
            }
            statuses[serial] = status
        }
        self.init(entries: statuses, installedAt: installedAt)
    }

    /// The status of a certificate serial (its big-endian bytes), or nil if the list does not name it.
    public func status(serial: [UInt8]) -> String? {
        entries[Self.hex(serial)] ?? entries[Self.decimal(serial)]
    }

    static func normalize(_ serial: String) -> String {
        let lower = serial.lowercased()
        let trimmed = lower.drop { $0 == "0" }
        return trimmed.isEmpty ? "0" : String(trimmed)
    }

    static func hex(_ bytes: [UInt8]) -> String {
        normalize(Hex.lowercase(bytes))
    }

    /// The decimal digits of a big-endian unsigned number.
    public static func decimal(_ bytes: [UInt8]) -> String {
        var number = Array(bytes.drop { $0 == 0 })
        guard !number.isEmpty else { return "0" }
        var digits: [Character] = []
        while !number.isEmpty {
            var remainder = 0
            var quotient: [UInt8] = []
            for byte in number {
                let value = remainder << 8 | Int(byte)
                let q = value / 10
                remainder = value % 10
                if !(quotient.isEmpty && q == 0) { quotient.append(UInt8(q)) }
            }
            digits.append(Character(String(remainder)))
            number = quotient
        }
        return String(digits.reversed())
    }
}

import SwiftASN1
import X509

/// How strongly a device's key was shown to belong to the genuine app on a genuine device (SPEC §6): written into
/// its certificate as a certificatePolicies OID under 2.25.121864525680986129093631145990636674922.
public enum DeviceAssurance: String, Sendable, CaseIterable, Codable {
    /// Password and out-of-band code only.
    case oob
    case appleAppAttest = "apple-app-attest"
    case androidTEE = "android-tee"
    case androidStrongBox = "android-strongbox"

    public static let policyArc = "2.25.121864525680986129093631145990636674922"

    /// Whether the attestation covered the device's TLS key itself (Android), so a renewal must keep that key.
    public var attestsTLSKey: Bool { self == .androidTEE || self == .androidStrongBox }

    /// The last arc of the policy OID: 1 to 4.
    public var policyNumber: Int {
        switch self {
        case .oob: 1
        case .appleAppAttest: 2
        case .androidTEE: 3
        case .androidStrongBox: 4
        }
    }

    public var policyOID: String { "\(Self.policyArc).\(policyNumber)" }

    /// The certificatePolicies extension (2.5.29.32, not critical) naming this assurance; encoded once per
    /// assurance (the 128-bit arc's decimal-to-base-128 conversion was 14% of an issuance's time under perf).
    public var certificatePoliciesExtension: Certificate.Extension { Self.encodedExtensions[policyNumber - 1] }

    private static let encodedExtensions: [Certificate.Extension] = allCases.map { assurance in
        let oid = ObjectIdentifierEncoding.contents(assurance.policyOID)
        let value = DERBytes.tlv(0x30, DERBytes.tlv(0x30, DERBytes.tlv(0x06, oid)))
        return Certificate.Extension(oid: certificatePoliciesOID, critical: false, value: value[...])
    }

    static let certificatePoliciesOID: ASN1ObjectIdentifier = [2, 5, 29, 32]

    /// The assurance a certificate states, or nil if it names none of Latchkey's policies.
    public static func stated(in certificate: Certificate) -> DeviceAssurance? {
        guard let ext = certificate.extensions[oid: certificatePoliciesOID] else { return nil }
        return allCases.first { $0.certificatePoliciesExtension.value == ext.value }
    }
}

/// DER of object identifiers whose arcs exceed 64 bits (the 2.25 UUID arc), which `ASN1ObjectIdentifier` cannot parse
/// from dotted text.
enum ObjectIdentifierEncoding {
    /// The content octets of an OID given in dotted decimal.
    static func contents(_ dotted: String) -> [UInt8] {
        let arcs = dotted.split(separator: ".").map(String.init)
        let first = Int(arcs[0])! * 40
        var out: [UInt8] = []
        var head = arcs[1]
        head = add(head, first)
        out += base128(head)
        for arc in arcs.dropFirst(2) { out += base128(arc) }
        return out
    }

    /// Decimal string + small integer.
    static func add(_ decimal: String, _ value: Int) -> String {
        var digits = decimal.compactMap { $0.wholeNumberValue }
        var carry = value
        var index = digits.count - 1
        while carry > 0 {
            if index < 0 {
                digits.insert(0, at: 0)
                index = 0
            }
            let sum = digits[index] + carry
            digits[index] = sum % 10
            carry = sum / 10
            index -= 1
        }
        return digits.map(String.init).joined()
    }

    /// Base-128 big-endian with continuation bits, of a decimal number of any size.
    static func base128(_ decimal: String) -> [UInt8] {
        var number = decimal.compactMap { $0.wholeNumberValue }
        var groups: [UInt8] = []
        repeat {
            var remainder = 0
            var quotient: [Int] = []
            for digit in number {
                let value = remainder * 10 + digit
                let q = value / 128
                remainder = value % 128
                if !(quotient.isEmpty && q == 0) { quotient.append(q) }
            }
            groups.append(UInt8(remainder))
            number = quotient
        } while !number.isEmpty
        return groups.reversed().enumerated().map { index, group in
            index == groups.count - 1 ? group : group | 0x80
        }
    }
}

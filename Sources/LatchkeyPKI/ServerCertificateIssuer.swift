import Crypto
import Foundation
import SwiftASN1
import X509

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Issues the server's TLS certificate for the host names it serves.
///
/// Guarantees: SAN holds a DNS name for every name and an IP address for every literal IPv4/IPv6 address; EKU is
/// serverAuth only; KeyUsage digitalSignature; CA:FALSE; SKI/AKI; signed by the issuing CA.
public struct ServerCertificateIssuer: Sendable {
    public static let defaultLifetime: TimeInterval = 397 * Lifetime.day
    public static let defaultHostnames = ["localhost", "127.0.0.1"]

    public let lifetime: TimeInterval

    public init(lifetime: TimeInterval = ServerCertificateIssuer.defaultLifetime) {
        self.lifetime = lifetime
    }

    /// A new P-256 server key (used for the current key and for the backup key kept for pin rotation).
    public static func makeKey() -> Certificate.PrivateKey {
        Certificate.PrivateKey(P256.Signing.PrivateKey())
    }

    /// A server certificate for `hostnames` over `publicKey`, signed by `authority`.
    public func issue(
        hostnames: [String],
        publicKey: Certificate.PublicKey,
        authority: CertificateAuthority,
        now: Date = Date()
    ) throws -> Certificate {
        guard let first = hostnames.first else {
            throw PKIError(.invalidArgument, "a server certificate needs at least one host name")
        }
        var names: [GeneralName] = []
        for hostname in hostnames {
            if let address = Self.ipAddressBytes(hostname) {
                names.append(.ipAddress(ASN1OctetString(contentBytes: ArraySlice(address))))
            } else {
                try Self.checkDNSName(hostname)
                names.append(.dnsName(hostname.lowercased()))
            }
        }
        let subject = try DistinguishedName { CommonName(first) }
        let extensions = try Certificate.Extensions {
            Critical(BasicConstraints.notCertificateAuthority)
            Critical(KeyUsage(digitalSignature: true))
            try ExtendedKeyUsage([.serverAuth])
            SubjectAlternativeNames(names)
            SubjectKeyIdentifier(hash: publicKey)
            authority.issuingKeyIdentifier
        }
        return try authority.sign(
            publicKey: publicKey, subject: subject, notBefore: now.addingTimeInterval(-3600),
            notAfter: now.addingTimeInterval(lifetime), extensions: extensions)
    }

    /// The 4 or 16 bytes of a literal IP address, or nil for a name.
    public static func ipAddressBytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }

    static func checkDNSName(_ name: String) throws {
        let labels = name.split(separator: ".", omittingEmptySubsequences: false)
        let valid =
            name.utf8.count <= 253
            && labels.allSatisfy { label in
                !label.isEmpty && label.utf8.count <= 63 && label.first != "-" && label.last != "-"
                    && label.utf8.allSatisfy { c in
                        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D
                    }
            }
        guard valid else {
            throw PKIError(.invalidArgument, "'\(name)' is neither a DNS host name nor an IP address")
        }
    }
}

import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyPKI
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// An address range such as `10.0.0.0/8`, `127.0.0.1` (a /32) or `fd00::/8`, for the peers that are trusted to
/// speak for clients (gateways, proxies).
public struct AddressRange: Sendable, Equatable, CustomStringConvertible {
    let network: [UInt8]
    let prefixLength: Int
    public let description: String

    /// Parses `ADDRESS[/PREFIX]`; nil for anything else.
    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let address = parts.first, let bytes = Self.bytes(address) else { return nil }
        let length: Int
        if parts.count == 2 {
            guard let given = Int(parts[1]), (0...(bytes.count * 8)).contains(given) else { return nil }
            length = given
        } else {
            length = bytes.count * 8
        }
        self.network = bytes
        self.prefixLength = length
        self.description = text
    }

    /// Whether `address` (text form) lies in this range; IPv4-mapped IPv6 addresses count as IPv4.
    public func contains(_ address: String) -> Bool {
        guard var bytes = Self.bytes(address) else { return false }
        if bytes.count == 16, network.count == 4, bytes[0..<10].allSatisfy({ $0 == 0 }), bytes[10] == 0xFF,
            bytes[11] == 0xFF
        {
            bytes = Array(bytes[12...])
        }
        guard bytes.count == network.count else { return false }
        var remaining = prefixLength
        for index in 0..<bytes.count where remaining > 0 {
            let bits = min(8, remaining)
            let mask = UInt8(truncatingIfNeeded: 0xFF << (8 - bits))
            if bytes[index] & mask != network[index] & mask { return false }
            remaining -= bits
        }
        return true
    }

    static func bytes(_ text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: v6) { Array($0) } }
        return nil
    }
}

/// The client certificate as a gateway that terminated mutual TLS passes it on (`serve --api-behind-gateway`):
/// from one header, only on connections from a trusted gateway address.
///
/// Guarantees: a request from any other address, or without the header, has no certificate (401
/// `certificate_unknown`), whatever headers it carries; the header may hold URL-encoded PEM (nginx
/// `$ssl_client_escaped_cert`, AWS ALB `X-Amzn-Mtls-Clientcert`) or Envoy's `X-Forwarded-Client-Cert` with
/// `Cert="..."`. Anything ambiguous is refused, never resolved by picking one: the header sent twice, more than one
/// certificate, or an XFCC with more than one element (a gateway that appends to a client's header instead of
/// replacing it would otherwise let the client choose). The certificate is then checked by ``DeviceIdentityResolver`` exactly as a TLS peer certificate:
/// chain to the issuing CA, clientAuth, validity, and the device's state in the store on every request.
public struct GatewayCertificateSource: ClientCertificateSource {
    public let trusted: [AddressRange]
    public let header: HTTPField.Name

    public init(trusted: [AddressRange], header: HTTPField.Name) {
        self.trusted = trusted
        self.header = header
    }

    public func certificate(for request: Request, context: LatchkeyRequestContext) async throws -> ByteBuffer? {
        guard let peer = context.channel.remoteAddress?.ipAddress, trusted.contains(where: { $0.contains(peer) })
        else { return nil }
        let values = request.headers[values: header]
        guard values.count == 1, let value = values.first else { return nil }
        return Self.der(fromHeader: value).map { ByteBuffer(bytes: $0) }
    }

    /// The DER of the certificate a header value carries, or nil if it carries none.
    static func der(fromHeader value: String) -> [UInt8]? {
        var encoded = value.trimmingCharacters(in: .whitespaces)
        if let start = encoded.range(of: "Cert=\"") {
            let rest = encoded[start.upperBound...]
            guard let end = rest.firstIndex(of: "\"") else { return nil }
            // One XFCC element only: nothing after the certificate may start another (a comma outside quotes),
            // nor carry a second Cert.
            let after = rest[rest.index(after: end)...]
            guard !after.contains(","), !after.contains("Cert="), !encoded[..<start.lowerBound].contains(",") else {
                return nil
            }
            encoded = String(rest[..<end])
        }
        guard let pem = encoded.removingPercentEncoding,
            pem.components(separatedBy: "-----BEGIN ").count == 2,
            let decoded = PEM.decode(pem), decoded.label == "CERTIFICATE"
        else { return nil }
        return decoded.der
    }
}

import Crypto
import Foundation
import LatchkeyPKI
import Testing
import X509

@testable import LatchkeyServer

/// The header formats of gateway mode and the trusted-address ranges, without a gateway.
@Suite struct GatewayHeaderTests {
    static func certificatePEM() throws -> String {
        let key = P256.Signing.PrivateKey()
        let name = try DistinguishedName { CommonName("device") }
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey), notValidBefore: Date(),
            notValidAfter: Date().addingTimeInterval(60), issuer: name, subject: name,
            signatureAlgorithm: .ecdsaWithSHA256, extensions: .init(), issuerPrivateKey: .init(key))
        return try certificate.serializeAsPEM().pemString
    }

    @Test func theHeaderFormatsOfNginxALBAndEnvoyAreRead() throws {
        let pem = try Self.certificatePEM()
        let der = try #require(PEM.decode(pem)?.der)
        let escaped = try #require(pem.addingPercentEncoding(withAllowedCharacters: .alphanumerics))
        #expect(GatewayCertificateSource.der(fromHeader: escaped) == der)
        let xfcc = "By=spiffe://gateway;Hash=0123abcd;Cert=\"\(escaped)\";Subject=\"CN=device\";URI="
        #expect(GatewayCertificateSource.der(fromHeader: xfcc) == der)
        // Ambiguous headers are refused, not resolved: two certificates, two XFCC elements (the second review's
        // takeover through a gateway that appends), a certificate with a chain.
        let other = try #require(try Self.certificatePEM().addingPercentEncoding(withAllowedCharacters: .alphanumerics))
        #expect(GatewayCertificateSource.der(fromHeader: escaped + other) == nil)
        #expect(GatewayCertificateSource.der(fromHeader: "By=client;Cert=\"\(escaped)\",By=gw;Cert=\"\(other)\"") == nil)
        #expect(GatewayCertificateSource.der(fromHeader: "By=a,By=gw;Cert=\"\(escaped)\"") == nil)
        for junk in ["", "garbage", "Cert=\"unterminated", "-----BEGIN%20PRIVATE%20KEY-----%0AAAAA%0A-----END%20PRIVATE%20KEY-----"] {
            #expect(GatewayCertificateSource.der(fromHeader: junk) == nil, "\(junk)")
        }
    }

    @Test func addressRangesMatchByPrefix() throws {
        let ten = try #require(AddressRange("10.1.0.0/16"))
        #expect(ten.contains("10.1.200.3") && !ten.contains("10.2.0.1") && !ten.contains("::1"))
        #expect(ten.contains("::ffff:10.1.0.9"))
        let one = try #require(AddressRange("127.0.0.1"))
        #expect(one.contains("127.0.0.1") && !one.contains("127.0.0.2"))
        let six = try #require(AddressRange("fd00::/8"))
        #expect(six.contains("fd12:3456::1") && !six.contains("fe80::1"))
        for bad in ["", "10.0.0.0/33", "host.example", "::/129", "10.0.0.0/x"] { #expect(AddressRange(bad) == nil, "\(bad)") }
    }
}

import Foundation
import Testing

@testable import LatchkeyServer

/// The PROXY protocol header parser, on the formats HAProxy and nginx write and on what must be refused.
@Suite struct ProxyHeaderTests {
    func parse(_ bytes: [UInt8]) -> String {
        switch ProxyHeader.parse(bytes) {
        case .incomplete: return "incomplete"
        case .invalid: return "invalid"
        case .header(let length, let source): return "\(length) \(source ?? "local")"
        }
    }

    @Test func versionOneTextHeaders() {
        let v4 = Array("PROXY TCP4 192.0.2.7 127.0.0.1 51234 8443\r\n".utf8)
        #expect(parse(v4 + Array("rest".utf8)) == "\(v4.count) 192.0.2.7")
        let v6 = Array("PROXY TCP6 2001:db8::7 ::1 51234 8443\r\n".utf8)
        #expect(parse(v6) == "\(v6.count) 2001:db8::7")
        #expect(parse(Array("PROXY UNKNOWN\r\n".utf8)) == "15 local")
        #expect(parse(Array("PROXY TCP4 192.0.2".utf8)) == "incomplete")
        // A first segment shorter than the v2 signature but longer than "PROXY " (the second review).
        #expect(parse(Array("PROXY TCP".utf8)) == "incomplete")
        #expect(parse(Array("PROXZ".utf8)) == "invalid")
        for bad in [
            "PROXY TCP4 999.0.2.7 127.0.0.1 1 2\r\n", "PROXY TCP4 192.0.2.7 127.0.0.1 1\r\n",
            "PROXY TCP4 2001:db8::7 ::1 1 2\r\n", "PROXY TCP4 192.0.2.7 127.0.0.1 1 2\n", "GET / HTTP/1.1\r\n",
        ] {
            #expect(parse(Array(bad.utf8)) == "invalid", "\(bad)")
        }
        #expect(parse(Array(("PROXY " + String(repeating: "x", count: 120)).utf8)) == "invalid")
    }

    @Test func versionTwoBinaryHeaders() {
        let signature = ProxyHeader.v2Signature
        let v4 = signature + [0x21, 0x11, 0x00, 0x0C] + [192, 0, 2, 9] + [127, 0, 0, 1] + [0xC8, 0x00, 0x20, 0xFB]
        #expect(parse(v4 + [0x16, 0x03]) == "28 192.0.2.9")
        var v6 = signature + [0x21, 0x21, 0x00, 0x24]
        v6 += [0x20, 0x01, 0x0D, 0xB8] + Array(repeating: 0, count: 11) + [0x05]
        v6 += Array(repeating: 0, count: 15) + [1] + [0, 1, 0, 2]
        #expect(parse(v6) == "52 2001:db8::5")
        let withTLV = signature + [0x21, 0x11, 0x00, 0x11] + [10, 1, 2, 3] + [127, 0, 0, 1] + [0, 1, 0, 2]
            + [0x04, 0x00, 0x02, 0xAB, 0xCD]
        #expect(parse(withTLV) == "33 10.1.2.3")
        #expect(parse(signature + [0x20, 0x00, 0x00, 0x00]) == "16 local")
        #expect(parse(Array(v4.prefix(20))) == "incomplete")
        #expect(parse(signature + [0x11, 0x11, 0x00, 0x0C]) == "invalid")
        #expect(parse(signature + [0x21, 0x11, 0x00, 0x04, 1, 2, 3, 4]) == "invalid")
        #expect(parse(signature + [0x22, 0x11, 0x00, 0x00]) == "invalid")
    }
}

import LatchkeyAttestation
import Testing

@Suite struct CBORReaderTests {
    func refused(_ bytes: [UInt8]) -> String? {
        do {
            _ = try CBORReader.decode(bytes)
            return nil
        } catch { return error.reason }
    }

    @Test func theSubsetRoundTrips() throws {
        let value = CBORValue.map([
            (.text("a"), .array([.unsigned(0), .unsigned(23), .unsigned(24), .unsigned(65_536), .negative(6)])),
            (.unsigned(1), .bytes([1, 2, 3])), (.negative(1), .text("ü")),
        ])
        #expect(try CBORReader.decode(CBORWriter.encode(value)) == value)
        #expect(try CBORReader.decode([0x39, 0x01, 0x00]) == .negative(256))
    }

    @Test func everythingOutsideTheSubsetIsRefused() {
        #expect(refused([0x01, 0x02])?.contains("follow") == true)  // trailing data
        #expect(refused([0x5F, 0x41, 0x00, 0xFF])?.contains("indefinite") == true)
        #expect(refused([0xC2, 0x41, 0x00])?.contains("tags") == true)
        #expect(refused([0xF9, 0x3C, 0x00])?.contains("floats") == true)
        #expect(refused([0xF5])?.contains("simple") == true)
        #expect(refused([0xA2, 0x01, 0x01, 0x01, 0x02])?.contains("twice") == true)
        #expect(refused([0x62, 0xC3, 0x28])?.contains("UTF-8") == true)
        #expect(refused([0x5A, 0xFF, 0xFF, 0xFF, 0xFF])?.contains("longer") == true)
        #expect(refused([0x9B] + [UInt8](repeating: 0xFF, count: 8))?.contains("longer") == true)
        #expect(refused([0x1C])?.contains("reserved") == true)
        #expect(refused([UInt8](repeating: 0x81, count: 40) + [0x00])?.contains("deeper") == true)
        #expect(refused([])?.contains("ends") == true)
        // Large containers are refused before their items are read (the review's quadratic duplicate-key check).
        let bigMap: [UInt8] = [0xB8, 65] + (0..<65).flatMap { (key: Int) -> [UInt8] in [0x18, UInt8(key + 24), 0x00] }
        #expect(refused(bigMap)?.contains("more than 64") == true)
        #expect(refused([0x98, 65] + [UInt8](repeating: 0, count: 65))?.contains("more than 64") == true)
        let fullMap: [UInt8] = [0xB8, 64] + (0..<64).flatMap { (key: Int) -> [UInt8] in [0x18, UInt8(key + 24), 0x00] }
        #expect(refused(fullMap) == nil)
    }
}

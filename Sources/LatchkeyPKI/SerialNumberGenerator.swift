import X509

/// Random certificate serial numbers: 16 bytes from the system CSPRNG, positive, 126 bits of entropy.
public enum SerialNumberGenerator {
    /// A new serial; the top bit is cleared (positive INTEGER) and the next one set, so the DER encoding is always
    /// 16 bytes and the value never has leading zero bytes.
    public static func random() -> Certificate.SerialNumber {
        var generator = SystemRandomNumberGenerator()
        let (high, low) = (generator.next(), generator.next())
        var bytes = withUnsafeBytes(of: high.bigEndian) { Array($0) } + withUnsafeBytes(of: low.bigEndian) { Array($0) }
        bytes[0] = (bytes[0] & 0x7F) | 0x40
        return Certificate.SerialNumber(bytes: bytes)
    }

    /// A serial as lowercase hex without separators, the form used in the store and the API.
    public static func hex(_ serial: Certificate.SerialNumber) -> String {
        Hex.lowercase(serial.bytes)
    }
}

/// International Bank Account Numbers (ISO 13616).
public enum IBAN {
    /// Whether `text` is an IBAN in electronic form: two capital letters, two check digits, 11 to 30 capital letters
    /// or digits, and the ISO 7064 mod-97 check equal to 1.
    public static func isValid(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard (15...34).contains(bytes.count) else { return false }
        func isUpper(_ b: UInt8) -> Bool { b >= 0x41 && b <= 0x5A }
        func isDigit(_ b: UInt8) -> Bool { b >= 0x30 && b <= 0x39 }
        guard isUpper(bytes[0]), isUpper(bytes[1]), isDigit(bytes[2]), isDigit(bytes[3]),
            bytes[4...].allSatisfy({ isUpper($0) || isDigit($0) })
        else { return false }
        var remainder = 0
        for byte in bytes[4...] + bytes[0..<4] {
            if isDigit(byte) {
                remainder = (remainder * 10 + Int(byte - 0x30)) % 97
            } else {
                remainder = (remainder * 100 + Int(byte - 0x41 + 10)) % 97
            }
        }
        return remainder == 1
    }
}

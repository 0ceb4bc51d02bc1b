/// Parses and prints decimal money strings ("12.34") as integer cents, never through a float.
public enum Money {
    /// Cents of a string with digits, an optional '.', and at most two decimals; nil for anything else (signs,
    /// exponents, spaces, more than 15 integer digits).
    public static func cents(_ text: String) -> Int64? {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count <= 2, let whole = parts.first, !whole.isEmpty, whole.count <= 15,
            whole.allSatisfy({ $0.isASCII && $0.isNumber })
        else { return nil }
        var cents = Int64(whole)! * 100
        if parts.count == 2 {
            let fraction = parts[1]
            guard !fraction.isEmpty, fraction.count <= 2, fraction.allSatisfy({ $0.isASCII && $0.isNumber }) else {
                return nil
            }
            cents += Int64(fraction.count == 1 ? String(fraction) + "0" : String(fraction))!
        }
        return cents
    }

    /// "1234.50" for 123450 cents.
    public static func format(_ cents: Int64) -> String {
        let sign = cents < 0 ? "-" : ""
        let magnitude = cents.magnitude
        let fraction = magnitude % 100
        return "\(sign)\(magnitude / 100).\(fraction < 10 ? "0" : "")\(fraction)"
    }
}

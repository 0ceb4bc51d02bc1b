import Foundation

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// RFC 3339 timestamps in UTC, whole seconds, as the API writes them ("2026-11-29T03:50:00Z").
///
/// Made with `gmtime_r`: creating an `ISO8601DateFormatter` (ICU) per answer cost about a fifth of the server's CPU
/// under keep-alive load.
public enum Timestamp {
    public static func string(_ date: Date, milliseconds: Bool = false) -> String {
        let interval = date.timeIntervalSince1970
        var seconds = time_t(interval.rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        var bytes = [UInt8]()
        bytes.reserveCapacity(20)
        func append(_ value: Int32, digits: Int) {
            var divisor: Int32 = 1
            for _ in 1..<digits { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                bytes.append(UInt8(0x30 + (rest / divisor) % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        append(parts.tm_year + 1900, digits: 4)
        bytes.append(0x2D)
        append(parts.tm_mon + 1, digits: 2)
        bytes.append(0x2D)
        append(parts.tm_mday, digits: 2)
        bytes.append(0x54)
        append(parts.tm_hour, digits: 2)
        bytes.append(0x3A)
        append(parts.tm_min, digits: 2)
        bytes.append(0x3A)
        append(parts.tm_sec, digits: 2)
        if milliseconds {
            bytes.append(0x2E)
            append(Int32(min(999, ((interval - interval.rounded(.down)) * 1000).rounded(.down))), digits: 3)
        }
        bytes.append(0x5A)
        return String(decoding: bytes, as: UTF8.self)
    }
}

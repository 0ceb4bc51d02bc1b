import Foundation
import Testing

import LatchkeyProtocol

@Suite struct TimestampTests {
    /// The gmtime_r formatter writes what Foundation's ISO 8601 formatter writes, with and without milliseconds.
    @Test func matchesFoundationsFormatter() {
        let whole = ISO8601DateFormatter()
        let fractional = ISO8601DateFormatter()
        fractional.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var generator = SystemRandomNumberGenerator()
        let dates =
            [
                Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 951_782_400.5),
                Date(timeIntervalSince1970: 4_102_444_799.999),
            ]
            + (0..<500).map { _ in Date(timeIntervalSince1970: Double.random(in: 0..<4_102_444_800, using: &generator))
            }
        for date in dates {
            // Foundation rounds to the nearest millisecond, Timestamp truncates: compare on whole milliseconds (a
            // random date within half a millisecond of the next second is written as that next second by Foundation).
            let millis = Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded(.down) / 1000 + 0.0001)
            #expect(Timestamp.string(millis) == whole.string(from: millis))
            #expect(Timestamp.string(millis, milliseconds: true) == fractional.string(from: millis))
        }
    }
}

import Foundation
import Testing

@testable import LatchkeyServer

/// The hand-written JSON of log lines parses back to what was logged, whatever the text holds.
@Suite struct JSONLogHandlerTests {
    @Test func linesParseBackToTheirFields() throws {
        let tricky = "quote \" backslash \\ newline \n tab \t nul \u{0} del \u{7F} c1 \u{85} sep \u{2028} é 🔑 </script>"
        let object: [String: Any] = [
            "message": tricky, "list": ["a", "b\"c"], "nested": ["k": "v\n"], "time": "2026-12-04T00:00:00.000Z",
        ]
        let line = JSONLogHandler.encode(object)
        #expect(!line.contains("\n"))
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
        #expect(parsed["message"] as? String == tricky)
        #expect(parsed["list"] as? [String] == ["a", "b\"c"])
        #expect((parsed["nested"] as? [String: String])?["k"] == "v\n")
        #expect(line.hasPrefix("{\"list\":"), "keys are sorted: \(line)")
    }
}

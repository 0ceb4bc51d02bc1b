import Foundation
import LatchkeyTestSupport
import Testing

@Suite struct ReadmeWalkthroughTests {
    /// The README's walkthrough blocks, run verbatim by `scripts/readme-walkthrough.sh` against `serve --demo` on
    /// the default ports: the README cannot drift from the program.
    @Test func theReadmeWalkthroughWorksOnACleanDataDirectory() throws {
        let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("scripts/readme-walkthrough.sh").path
        let result = try Shell.run(["bash", script], environment: ["LATCHKEY_BIN": Shell.latchkeyBinary])
        #expect(result.status == 0, "\(result.stdout)\n\(result.stderr)")
        #expect(result.stdout.contains("readme walkthrough: ok"))
    }
}

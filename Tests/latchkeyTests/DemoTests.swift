import Foundation
import LatchkeyTestSupport
import Testing

@Suite struct DemoTests {
    /// `latchkey demo` exits 0, and every row's verdict is the one its actual answer implies.
    @Test func theDemoBlocksEveryAttackAndEachVerdictMatchesItsAnswer() throws {
        let result = try Shell.run([Shell.latchkeyBinary, "demo"])
        #expect(result.status == 0, "\(result.stdout)\(result.stderr)")
        let rows = result.stdout.split(separator: "\n").filter { $0.hasPrefix("| ") && !$0.hasPrefix("| scenario") }
            .map { $0.split(separator: "|").map { $0.trimmingCharacters(in: .whitespaces) } }
        #expect(rows.count == 14)
        for row in rows {
            let (scenario, answer, verdict) = (row[0], row[2], row[3])
            let expected: String
            switch scenario.prefix(1) {
            case "0": expected = answer.hasPrefix("200") || answer.hasPrefix("201") ? "ALLOWED" : "LEGITIMATE REFUSED"
            case "1", "2": expected = answer == "401 code_invalid" ? "BLOCKED" : "ATTACK SUCCEEDED"
            case "3": expected = answer.contains("pin mismatch") ? "BLOCKED" : "ATTACK SUCCEEDED"
            case "4": expected = answer.hasPrefix("200") ? "NOT STOPPED (known limit)" : "BLOCKED"
            case "5": expected = answer == "401 device_revoked" ? "BLOCKED" : "ATTACK SUCCEEDED"
            case "6": expected = answer.hasSuffix("401 nonce_reused") ? "BLOCKED" : "ATTACK SUCCEEDED"
            case "7": expected = answer.hasPrefix("200") ? "ATTACK SUCCEEDED" : "BLOCKED"
            case "8": expected = answer.hasSuffix("423 enrollment_locked") ? "BLOCKED" : "ATTACK SUCCEEDED"
            case "9":
                expected =
                    answer == "403 attestation_required" || answer == "400 attestation_invalid"
                    ? "BLOCKED" : "ATTACK SUCCEEDED"
            default: expected = "?"
            }
            #expect(verdict == expected, "\(scenario): \(answer) -> \(verdict)")
        }
        #expect(result.stdout.contains("summary: 9 attacks blocked, 0 succeeded"))
        #expect(result.stdout.contains("200 assurance apple-app-attest"))
    }
}

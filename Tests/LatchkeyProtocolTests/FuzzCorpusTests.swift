import Foundation
import LatchkeyFuzzTargets
import LatchkeyProtocol
import Testing

/// Replays the fuzzing seeds and every crash the fuzzers ever found (`Fuzz/Regressions`) through the same entry
/// points libFuzzer drives, so a fixed crash stays fixed in the normal test run.
@Suite struct FuzzCorpusTests {
    static let fuzz = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz").path

    static func inputs(_ target: String) throws -> [(name: String, bytes: [UInt8])] {
        var inputs: [(String, [UInt8])] = []
        for folder in ["Corpus", "Regressions"] {
            let directory = "\(fuzz)/\(folder)/\(target)"
            for name in try FileManager.default.contentsOfDirectory(atPath: directory).sorted()
            where !name.hasPrefix(".") {
                let data = try #require(FileManager.default.contents(atPath: "\(directory)/\(name)"))
                inputs.append(("\(folder)/\(target)/\(name)", Array(data)))
            }
        }
        return inputs
    }

    @Test(arguments: ["csr", "json", "signature"])
    func everySeedAndRegressionReplays(_ target: String) throws {
        let inputs = try Self.inputs(target)
        #expect(!inputs.isEmpty)
        for input in inputs {
            switch target {
            case "csr": FuzzTargets.csrIntake(input.bytes)
            case "json": FuzzTargets.requestJSON(input.bytes)
            default: FuzzTargets.signatureHeaders(input.bytes)
            }
        }
    }

    /// The JSON seeds are valid bodies, so the fuzzer starts from inputs that reach the field checks.
    @Test func theJSONSeedsDecode() throws {
        for input in try Self.inputs("json") where input.name.hasPrefix("Corpus") {
            #expect((try? FuzzTargets.requestBody(input.bytes)) != nil, "\(input.name)")
        }
        #expect(throws: StrictJSON.Problem.self) {
            try StrictJSON.decode(RenewRequest.self, from: Data(#"{"csr":"x","extra":1}"#.utf8))
        }
    }
}

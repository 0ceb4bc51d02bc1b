import Foundation
import LatchkeyAttestation
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

    @Test(arguments: ["csr", "json", "signature", "cbor", "appattest", "keydescription"])
    func everySeedAndRegressionReplays(_ target: String) throws {
        let inputs = try Self.inputs(target) + FuzzTargets.syntheticSeeds(target).map { ("synthetic", $0) }
        #expect(!inputs.isEmpty)
        for input in inputs {
            switch target {
            case "csr": FuzzTargets.csrIntake(input.bytes)
            case "json": FuzzTargets.requestJSON(input.bytes)
            case "cbor": FuzzTargets.cbor(input.bytes)
            case "appattest": FuzzTargets.appAttest(input.bytes)
            case "keydescription": FuzzTargets.keyDescription(input.bytes)
            default: FuzzTargets.signatureHeaders(input.bytes)
            }
        }
    }

    /// The synthetic seeds are accepted by the parsers they feed, so the fuzzers start past the format checks.
    @Test func theAttestationSeedsParse() throws {
        #expect(FuzzTargets.syntheticSeeds("cbor").count == 2)
        for seed in FuzzTargets.syntheticSeeds("cbor") { #expect((try? CBORReader.decode(seed)) != nil) }
        let appAttest = FuzzTargets.syntheticSeeds("appattest")
        #expect(appAttest.count == 2)
        #expect((try? AppAttestObject(Array(appAttest[0].dropFirst()))) != nil)
        for seed in FuzzTargets.syntheticSeeds("keydescription") + [try Self.inputs("keydescription")[0].bytes] {
            #expect((try? AndroidKeyDescription(berEncoded: seed)) != nil)
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

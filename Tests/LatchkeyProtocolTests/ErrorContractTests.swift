import Foundation
import LatchkeyProtocol
import Testing

/// The error contract is closed: `docs/openapi.yaml` lists exactly the cases of `ErrorCode` as the enum of its
/// `ErrorCode` schema. Adding a code to one without the other fails here.
@Suite struct ErrorContractTests {
    static let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/openapi.yaml").path

    /// The `- item` lines of the enum under `components.schemas.ErrorCode`.
    static func documentedCodes() throws -> [String] {
        let lines = try String(contentsOfFile: document, encoding: .utf8).split(separator: "\n").map(String.init)
        guard let schema = lines.firstIndex(of: "    ErrorCode:") else { return [] }
        var codes: [String] = []
        var inEnum = false
        for line in lines[(schema + 1)...] {
            if !line.hasPrefix("      ") { break }
            if line == "      enum:" {
                inEnum = true
                continue
            }
            if inEnum {
                guard line.hasPrefix("        - ") else { break }
                codes.append(String(line.dropFirst("        - ".count)).trimmingCharacters(in: .whitespaces))
            }
        }
        return codes
    }

    @Test func theDocumentListsExactlyTheCodes() throws {
        let documented = try Self.documentedCodes()
        #expect(!documented.isEmpty, "no ErrorCode enum in \(Self.document)")
        #expect(documented.count == Set(documented).count, "a code is listed twice")
        let cases = Set(ErrorCode.allCases.map(\.rawValue))
        for code in cases.subtracting(documented).sorted() {
            Issue.record("ErrorCode.\(code) is not in the OpenAPI ErrorCode enum")
        }
        for code in Set(documented).subtracting(cases).sorted() {
            Issue.record("the OpenAPI document lists \(code), which is not an ErrorCode case")
        }
    }

    @Test func errorBodiesReferToTheEnum() throws {
        let text = try String(contentsOfFile: Self.document, encoding: .utf8)
        #expect(text.contains("error: {$ref: \"#/components/schemas/ErrorCode\"}"))
    }
}

import LatchkeyProtocol
import Foundation

/// The name a user gives a device at enrollment: shown in device lists and the audit trail, never in a message
/// sent to the user (an attacker with the password chooses it).
///
/// Guarantees: 1 to 64 bytes of UTF-8 after trimming spaces (bytes, not characters: a name of stacked combining
/// marks cannot grow past that); no control characters (C0, DEL, C1), no format characters (bidi overrides and
/// isolates, zero-width characters), no line or paragraph separators, no private-use or unassigned code points, no
/// default-ignorable code points (Hangul fillers, the combining grapheme joiner), and at least one letter or digit, so
/// a name is never blank-looking.
enum DeviceName {
    static let maximumBytes = 64

    /// The trimmed name, or `device` when none was given; throws 400 `bad_request` for a name outside the rules.
    static func validated(_ raw: String?) throws -> String {
        let name = (raw ?? "device").trimmingCharacters(in: .whitespaces)
        guard !name.isEmpty, name.utf8.count <= maximumBytes else {
            throw Refusal.badRequest("device_name must be 1 to \(maximumBytes) bytes of UTF-8")
        }
        guard name.unicodeScalars.allSatisfy(isAllowed) else {
            throw Refusal.badRequest(
                "device_name must not contain control, format (such as bidi overrides), invisible or unassigned characters")
        }
        guard name.unicodeScalars.contains(where: { $0.properties.isAlphabetic || $0.properties.numericType != nil })
        else { throw Refusal.badRequest("device_name must contain a letter or a digit") }
        return name
    }

    static func isAllowed(_ scalar: Unicode.Scalar) -> Bool {
        if scalar.properties.isDefaultIgnorableCodePoint { return false }
        switch scalar.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .surrogate, .privateUse, .unassigned:
            return false
        default:
            return true
        }
    }
}

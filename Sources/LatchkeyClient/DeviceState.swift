import Foundation
import LatchkeyPKI

/// What a device directory holds besides its key: server URLs, pins, the CA chain and the enrolled identity.
///
/// Files: `state.json` (this), `device.key` (0600), `device.pem` (certificate), `chain.pem` (issuing, root).
public struct DeviceState: Codable, Sendable, Equatable {
    public var enrollURL: String
    public var apiURL: String?
    public var pins: [String]
    /// After this date the pins fail closed (ISO 8601), if set.
    public var pinsExpire: Date?
    public var caChain: String?
    public var deviceID: String?
    public var username: String?

    enum CodingKeys: String, CodingKey {
        case pins, username
        case enrollURL = "enroll_url"
        case apiURL = "api_url"
        case pinsExpire = "pins_expire"
        case caChain = "ca_chain"
        case deviceID = "device_id"
    }

    public init(
        enrollURL: String, apiURL: String? = nil, pins: [String], pinsExpire: Date? = nil, caChain: String? = nil
    ) {
        self.enrollURL = enrollURL
        self.apiURL = apiURL
        self.pins = pins
        self.pinsExpire = pinsExpire
        self.caChain = caChain
    }

    static func path(in directory: String) -> String { directory + "/state.json" }

    /// Reads `state.json` of a device directory.
    public static func load(from directory: String) throws -> DeviceState {
        guard let data = FileManager.default.contents(atPath: path(in: directory)) else {
            throw ClientError.notEnrolled
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        do {
            return try decoder.decode(DeviceState.self, from: data)
        } catch {
            throw ClientError.invalid("\(path(in: directory)) is not a Latchkey device state")
        }
    }

    func save(to directory: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        encoder.dateEncodingStrategy = .iso8601
        let text = String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
        try SecureFile.write(text, to: Self.path(in: directory), mode: 0o600, overwrite: true)
    }
}

/// Host and port of an `https://host:port` URL.
struct ServerAddress: Sendable, Equatable, Hashable {
    let host: String
    let port: Int

    init(_ url: String) throws {
        guard let components = URLComponents(string: url), components.scheme == "https", let host = components.host,
            !host.isEmpty
        else { throw ClientError.invalid("the server URL must look like https://host:port") }
        self.host = host
        self.port = components.port ?? 443
    }
}

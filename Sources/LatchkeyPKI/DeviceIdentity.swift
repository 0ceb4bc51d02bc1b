import Foundation

/// Who a verified client certificate speaks for: the user and device named in its SAN URIs.
///
/// Only ``ClientCertificateValidator`` produces one, after the chain, validity and EKU checks passed.
public struct DeviceIdentity: Hashable, Sendable {
    public let userID: String
    public let deviceID: String
    /// The certificate serial as lowercase hex without separators.
    public let serial: String
    public let notAfter: Date

    public init(userID: String, deviceID: String, serial: String, notAfter: Date) {
        self.userID = userID
        self.deviceID = deviceID
        self.serial = serial
        self.notAfter = notAfter
    }

    /// The SAN URI naming a device.
    public static func deviceURI(_ deviceID: String) -> String { "urn:latchkey:device:\(deviceID)" }
    /// The SAN URI naming a user.
    public static func userURI(_ userID: String) -> String { "urn:latchkey:user:\(userID)" }
}

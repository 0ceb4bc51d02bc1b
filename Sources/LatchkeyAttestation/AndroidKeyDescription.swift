import SwiftASN1

/// The Android Key Attestation extension (OID 1.3.6.1.4.1.11129.2.1.17, `KeyDescription`), the fields Latchkey
/// decides on.
///
/// Guarantees: parsed with BER tolerance (real chains encode BOOLEANs as 0x01), for every attestation version seen in
/// the field (2, 3, 4, 100, 200, 300, 400, 500); unknown authorization-list tags are ignored; a field Latchkey
/// decides on that is malformed refuses the whole description.
public struct AndroidKeyDescription: Sendable, Equatable {
    public static let extensionOID = try! ASN1ObjectIdentifier(dotRepresentation: "1.3.6.1.4.1.11129.2.1.17")

    public enum SecurityLevel: Int, Sendable {
        case software = 0, trustedEnvironment = 1, strongBox = 2
    }

    public enum VerifiedBootState: Int, Sendable {
        case verified = 0, selfSigned = 1, unverified = 2, failed = 3

        public var name: String {
            switch self {
            case .verified: "verified"
            case .selfSigned: "self-signed"
            case .unverified: "unverified"
            case .failed: "failed"
            }
        }
    }

    public struct RootOfTrust: Sendable, Equatable {
        public let verifiedBootKey: [UInt8]
        public let deviceLocked: Bool
        public let verifiedBootState: VerifiedBootState
    }

    public struct Package: Sendable, Equatable {
        public let name: String
        public let version: Int64
    }

    public struct ApplicationID: Sendable, Equatable {
        public let packages: [Package]
        public let signatureDigests: [[UInt8]]
    }

    public let attestationVersion: Int64
    public let attestationSecurityLevel: SecurityLevel
    public let keyMintVersion: Int64
    public let keyMintSecurityLevel: SecurityLevel
    public let attestationChallenge: [UInt8]
    /// The root of trust from the hardware-enforced list (nil when only software vouches for it).
    public let rootOfTrust: RootOfTrust?
    /// The attestation application id, from whichever list carries it (software-enforced in practice).
    public let applicationID: ApplicationID?

    static let rootOfTrustTag: UInt = 704
    static let applicationIDTag: UInt = 709

    public init(berEncoded bytes: [UInt8]) throws(AttestationError) {
        do {
            let root = try BER.parse(bytes)
            let fields = try Self.children(root, "KeyDescription")
            guard fields.count >= 8 else {
                throw AttestationError.invalid("key_description", "KeyDescription has fewer than 8 fields")
            }
            attestationVersion = try Self.integer(fields[0], "attestationVersion")
            attestationSecurityLevel = try Self.securityLevel(fields[1], "attestationSecurityLevel")
            keyMintVersion = try Self.integer(fields[2], "keyMintVersion")
            keyMintSecurityLevel = try Self.securityLevel(fields[3], "keyMintSecurityLevel")
            attestationChallenge = try Self.octets(fields[4], "attestationChallenge")
            let software = try Self.children(fields[6], "softwareEnforced")
            let hardware = try Self.children(fields[7], "hardwareEnforced")
            rootOfTrust = try Self.tagged(Self.rootOfTrustTag, in: hardware).map(Self.rootOfTrust)
            let applicationNode =
                try Self.tagged(Self.applicationIDTag, in: software) ?? Self.tagged(Self.applicationIDTag, in: hardware)
            applicationID = try applicationNode.map(Self.applicationID)
        } catch let error as AttestationError {
            throw error
        } catch {
            throw AttestationError.invalid("key_description", "the KeyDescription is not valid BER")
        }
    }

    // MARK: BER walking

    static func children(_ node: ASN1Node, _ name: String) throws(AttestationError) -> [ASN1Node] {
        guard case .constructed(let collection) = node.content,
            node.identifier == .sequence || node.identifier == .set
        else { throw .invalid("key_description", "\(name) is not a SEQUENCE") }
        return Array(collection)
    }

    static func primitive(_ node: ASN1Node, _ identifier: ASN1Identifier, _ name: String) throws(AttestationError)
        -> ArraySlice<UInt8>
    {
        guard node.identifier == identifier, case .primitive(let bytes) = node.content else {
            throw .invalid("key_description", "\(name) has the wrong type")
        }
        return bytes
    }

    static func integer(_ node: ASN1Node, _ name: String, identifier: ASN1Identifier = .integer)
        throws(AttestationError) -> Int64
    {
        let bytes = try primitive(node, identifier, name)
        guard !bytes.isEmpty, bytes.count <= 8 else { throw .invalid("key_description", "\(name) is out of range") }
        var value: Int64 = bytes.first! & 0x80 != 0 ? -1 : 0
        for byte in bytes { value = value << 8 | Int64(byte) }
        return value
    }

    static func securityLevel(_ node: ASN1Node, _ name: String) throws(AttestationError) -> SecurityLevel {
        guard let level = SecurityLevel(rawValue: Int(try integer(node, name, identifier: .enumerated))) else {
            throw .invalid("key_description", "\(name) is not a known security level")
        }
        return level
    }

    static func octets(_ node: ASN1Node, _ name: String) throws(AttestationError) -> [UInt8] {
        Array(try primitive(node, .octetString, name))
    }

    /// BER BOOLEAN: any non-zero octet is true (DER would insist on 0xFF).
    static func boolean(_ node: ASN1Node, _ name: String) throws(AttestationError) -> Bool {
        let bytes = try primitive(node, .boolean, name)
        guard bytes.count == 1 else { throw .invalid("key_description", "\(name) is not one octet") }
        return bytes.first! != 0
    }

    /// The content of `[tag] EXPLICIT` in an authorization list, or nil; a tag used twice is refused.
    static func tagged(_ tag: UInt, in list: [ASN1Node]) throws(AttestationError) -> ASN1Node? {
        let identifier = ASN1Identifier(tagWithNumber: tag, tagClass: .contextSpecific)
        let matches = list.filter { $0.identifier == identifier }
        guard matches.count <= 1 else { throw .invalid("key_description", "tag \(tag) occurs twice") }
        guard let match = matches.first else { return nil }
        guard case .constructed(let inner) = match.content, let value = Array(inner).first, Array(inner).count == 1
        else { throw .invalid("key_description", "tag \(tag) is not one explicitly tagged value") }
        return value
    }

    static func rootOfTrust(_ node: ASN1Node) throws(AttestationError) -> RootOfTrust {
        let fields = try children(node, "RootOfTrust")
        guard fields.count >= 3 else { throw .invalid("key_description", "RootOfTrust has fewer than 3 fields") }
        guard let state = VerifiedBootState(rawValue: Int(try integer(fields[2], "verifiedBootState", identifier: .enumerated)))
        else { throw .invalid("key_description", "verifiedBootState is not a known state") }
        return RootOfTrust(
            verifiedBootKey: try octets(fields[0], "verifiedBootKey"),
            deviceLocked: try boolean(fields[1], "deviceLocked"), verifiedBootState: state)
    }

    /// `attestationApplicationId` is an OCTET STRING holding the DER of `AttestationApplicationId`.
    static func applicationID(_ node: ASN1Node) throws(AttestationError) -> ApplicationID {
        let inner: ASN1Node
        do { inner = try BER.parse(try octets(node, "attestationApplicationId")) } catch let error as AttestationError {
            throw error
        } catch { throw .invalid("key_description", "attestationApplicationId is not valid BER") }
        let fields = try children(inner, "AttestationApplicationId")
        guard fields.count == 2 else {
            throw .invalid("key_description", "AttestationApplicationId does not have 2 fields")
        }
        var packages: [Package] = []
        for info in try children(fields[0], "package_infos") {
            let parts = try children(info, "AttestationPackageInfo")
            guard parts.count == 2 else { throw .invalid("key_description", "a package info does not have 2 fields") }
            guard let name = String(validating: try octets(parts[0], "package_name"), as: UTF8.self) else {
                throw .invalid("key_description", "a package name is not UTF-8")
            }
            packages.append(Package(name: name, version: try integer(parts[1], "version")))
        }
        let digests = try children(fields[1], "signature_digests").map { node throws(AttestationError) in
            try octets(node, "signature_digest")
        }
        return ApplicationID(packages: packages, signatureDigests: digests)
    }
}

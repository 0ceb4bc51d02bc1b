import Foundation

/// `POST /v1/enrollments` body.
public struct EnrollmentStartRequest: Codable, Sendable, Equatable {
    public var username: String
    public var password: String
    public var deviceName: String?

    public init(username: String, password: String, deviceName: String?) {
        self.username = username
        self.password = password
        self.deviceName = deviceName
    }

    enum CodingKeys: String, CodingKey {
        case username, password
        case deviceName = "device_name"
    }
}

/// `POST /v1/enrollments` answer (201): where the code went, masked, and until when it is valid.
public struct EnrollmentStartResponse: Codable, Sendable, Equatable {
    public var enrollmentID: String
    public var channel: String
    public var destinationHint: String
    public var expiresAt: String
    /// Base64 of 32 random bytes for this enrollment only: the challenge an attestation binds (SPEC §6).
    public var attestationChallenge: String?

    public init(
        enrollmentID: String, channel: String, destinationHint: String, expiresAt: String,
        attestationChallenge: String? = nil
    ) {
        self.enrollmentID = enrollmentID
        self.channel = channel
        self.destinationHint = destinationHint
        self.expiresAt = expiresAt
        self.attestationChallenge = attestationChallenge
    }

    enum CodingKeys: String, CodingKey {
        case channel
        case enrollmentID = "enrollment_id"
        case destinationHint = "destination_hint"
        case expiresAt = "expires_at"
        case attestationChallenge = "attestation_challenge"
    }
}

/// `POST /v1/enrollments/{id}/complete` body: the out-of-band code, a PEM CSR and, optionally, an attestation of the
/// CSR's key (SPEC §6).
public struct EnrollmentCompleteRequest: Codable, Sendable, Equatable {
    public var code: String
    public var csr: String
    public var attestation: AttestationPayload?

    public init(code: String, csr: String, attestation: AttestationPayload? = nil) {
        self.code = code
        self.csr = csr
        self.attestation = attestation
    }
}

/// An attestation sent with an enrollment: `apple-appattest` (key id and attestation object) or `android-key` (the
/// certificate chain, leaf first), all base64.
public struct AttestationPayload: Codable, Sendable, Equatable {
    public static let appleAppAttest = "apple-appattest"
    public static let androidKey = "android-key"

    public var format: String
    public var keyID: String?
    public var attestationObject: String?
    public var certificateChain: [String]?

    public init(format: String, keyID: String? = nil, attestationObject: String? = nil, certificateChain: [String]? = nil)
    {
        self.format = format
        self.keyID = keyID
        self.attestationObject = attestationObject
        self.certificateChain = certificateChain
    }

    /// An App Attest attestation.
    public static func apple(keyID: [UInt8], attestationObject: [UInt8]) -> AttestationPayload {
        AttestationPayload(
            format: appleAppAttest, keyID: Data(keyID).base64EncodedString(),
            attestationObject: Data(attestationObject).base64EncodedString())
    }

    /// An Android Key Attestation chain (DER certificates, leaf first).
    public static func android(chain: [[UInt8]]) -> AttestationPayload {
        AttestationPayload(format: androidKey, certificateChain: chain.map { Data($0).base64EncodedString() })
    }

    enum CodingKeys: String, CodingKey {
        case format
        case keyID = "key_id"
        case attestationObject = "attestation_object"
        case certificateChain = "certificate_chain"
    }
}

/// `POST /v1/certificates/renew` body.
public struct RenewRequest: Codable, Sendable, Equatable {
    public var csr: String

    public init(csr: String) { self.csr = csr }
}

/// The answer to a completed enrollment or a renewal (201): the device certificate and its chain.
public struct CertificateResponse: Codable, Sendable, Equatable {
    public var deviceID: String
    /// The device certificate, PEM.
    public var certificate: String
    /// The issuing CA then the root, PEM.
    public var chain: String
    public var notAfter: String
    public var apiURL: String

    public init(deviceID: String, certificate: String, chain: String, notAfter: String, apiURL: String) {
        self.deviceID = deviceID
        self.certificate = certificate
        self.chain = chain
        self.notAfter = notAfter
        self.apiURL = apiURL
    }

    enum CodingKeys: String, CodingKey {
        case certificate, chain
        case deviceID = "device_id"
        case notAfter = "not_after"
        case apiURL = "api_url"
    }
}

/// `GET /v1/me`.
public struct MeResponse: Codable, Sendable, Equatable {
    public var userID: String
    public var username: String
    public var deviceID: String
    public var certificateSerial: String
    public var notAfter: String
    /// `oob`, `apple-app-attest`, `android-tee` or `android-strongbox`.
    public var assurance: String?

    public init(
        userID: String, username: String, deviceID: String, certificateSerial: String, notAfter: String,
        assurance: String? = nil
    ) {
        self.userID = userID
        self.username = username
        self.deviceID = deviceID
        self.certificateSerial = certificateSerial
        self.notAfter = notAfter
        self.assurance = assurance
    }

    enum CodingKeys: String, CodingKey {
        case username, assurance
        case userID = "user_id"
        case deviceID = "device_id"
        case certificateSerial = "certificate_serial"
        case notAfter = "not_after"
    }
}

/// An element of `GET /v1/devices`.
public struct DeviceInfo: Codable, Sendable, Equatable {
    public var deviceID: String
    public var name: String
    public var status: String
    public var enrolledAt: String
    public var lastSeenAt: String?
    public var current: Bool
    public var assurance: String?

    public init(
        deviceID: String, name: String, status: String, enrolledAt: String, lastSeenAt: String?, current: Bool,
        assurance: String? = nil
    ) {
        self.assurance = assurance
        self.deviceID = deviceID
        self.name = name
        self.status = status
        self.enrolledAt = enrolledAt
        self.lastSeenAt = lastSeenAt
        self.current = current
    }

    enum CodingKeys: String, CodingKey {
        case name, status, current, assurance
        case deviceID = "device_id"
        case enrolledAt = "enrolled_at"
        case lastSeenAt = "last_seen_at"
    }
}

/// `GET /v1/nonce`.
public struct NonceResponse: Codable, Sendable, Equatable {
    public var nonce: String
    public var expiresAt: String

    public init(nonce: String, expiresAt: String) {
        self.nonce = nonce
        self.expiresAt = expiresAt
    }

    enum CodingKeys: String, CodingKey {
        case nonce
        case expiresAt = "expires_at"
    }
}

/// An element of `GET /v1/accounts`. Money is a decimal string ("12.34"), never a float.
public struct AccountInfo: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var currency: String
    public var balance: String

    public init(id: String, name: String, currency: String, balance: String) {
        self.id = id
        self.name = name
        self.currency = currency
        self.balance = balance
    }
}

/// `POST /v1/transfers` body.
public struct TransferRequest: Codable, Sendable, Equatable {
    public var from: String
    public var to: String
    public var amount: String
    public var currency: String

    public init(from: String, to: String, amount: String, currency: String) {
        self.from = from
        self.to = to
        self.amount = amount
        self.currency = currency
    }
}

/// `POST /v1/transfers` answer (201).
public struct TransferResponse: Codable, Sendable, Equatable {
    public var transferID: String
    public var from: String
    public var to: String
    public var amount: String
    public var currency: String
    public var balance: String
    public var createdAt: String

    public init(
        transferID: String, from: String, to: String, amount: String, currency: String, balance: String,
        createdAt: String
    ) {
        self.transferID = transferID
        self.from = from
        self.to = to
        self.amount = amount
        self.currency = currency
        self.balance = balance
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case from, to, amount, currency, balance
        case transferID = "transfer_id"
        case createdAt = "created_at"
    }
}

/// `client-config.json` in the data directory (SPEC §2): what a client needs to enroll.
public struct ClientConfig: Codable, Sendable, Equatable {
    public var enrollURL: String
    public var apiURL: String
    public var pins: [String]
    /// The CA chain (issuing then root), PEM.
    public var caChain: String

    public init(enrollURL: String, apiURL: String, pins: [String], caChain: String) {
        self.enrollURL = enrollURL
        self.apiURL = apiURL
        self.pins = pins
        self.caChain = caChain
    }

    enum CodingKeys: String, CodingKey {
        case pins
        case enrollURL = "enroll_url"
        case apiURL = "api_url"
        case caChain = "ca_chain"
    }
}

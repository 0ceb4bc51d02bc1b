import Foundation
import LatchkeyPKI
import LatchkeyProtocol
import SwiftASN1
import X509

/// The Latchkey SDK for one device: enrollment, pinned mutual-TLS calls, automatic request signatures, renewal.
///
/// Guarantees: every connection requires both a valid chain to the pinned private CA and a pin match (see
/// ``ServerTrust``); the device key never leaves its ``DeviceKeyStore``; endpoints that require a signature are
/// signed automatically over a fresh server nonce; a renewal replaces the key only after the new certificate is
/// stored. Connections are kept alive and reused.
public actor LatchkeyClient {
    public nonisolated let directory: String
    let keyStore: any DeviceKeyStore
    /// Makes the `App-Assertion` of every signed request, for devices enrolled with App Attest.
    let attestation: (any AttestationProvider)?
    private var state: DeviceState
    private var connections: [ServerAddress: HTTPSConnection] = [:]

    /// Opens an enrolled device directory.
    public init(
        directory: String, keyStore: (any DeviceKeyStore)? = nil, attestation: (any AttestationProvider)? = nil
    ) throws {
        self.attestation = attestation
        self.directory = directory
        self.keyStore = keyStore ?? FileKeyStore(directory: directory)
        self.state = try DeviceState.load(from: directory)
        try Self.finishInterruptedRenewal(directory: directory, keyStore: self.keyStore)
    }

    var certificatePath: String { directory + "/device.pem" }

    // MARK: Enrollment

    /// Enrolls a new device: starts with the password, asks `code` for the out-of-band code, completes with a CSR
    /// of the device key, and stores certificate, chain and state in `directory`.
    ///
    /// With an `attestation` provider, the completion carries its attestation over this enrollment's challenge and
    /// CSR (SPEC §6), and the client it returns sends assertions on signed requests.
    ///
    /// Guarantees: a key file this call created is removed again if the enrollment fails, so a failed attempt leaves
    /// no unused key behind.
    public static func enroll(
        directory: String, enrollURL: String, pins: [String], pinsExpire: Date? = nil, caChain: String? = nil,
        username: String, password: String, deviceName: String, keyStore: (any DeviceKeyStore)? = nil,
        attestation: (any AttestationProvider)? = nil,
        code: @Sendable (EnrollmentStartResponse) async throws -> String
    ) async throws -> LatchkeyClient {
        let keyPath = FileKeyStore(directory: directory).keyPath
        let ownsNewKey = keyStore == nil && !FileManager.default.fileExists(atPath: keyPath)
        do {
            return try await performEnrollment(
                directory: directory, enrollURL: enrollURL, pins: pins, pinsExpire: pinsExpire, caChain: caChain,
                username: username, password: password, deviceName: deviceName, keyStore: keyStore,
                attestation: attestation, code: code)
        } catch {
            if ownsNewKey { try? FileManager.default.removeItem(atPath: keyPath) }
            throw error
        }
    }

    private static func performEnrollment(
        directory: String, enrollURL: String, pins: [String], pinsExpire: Date?, caChain: String?,
        username: String, password: String, deviceName: String, keyStore: (any DeviceKeyStore)?,
        attestation: (any AttestationProvider)?, code: @Sendable (EnrollmentStartResponse) async throws -> String
    ) async throws -> LatchkeyClient {
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let keyStore = keyStore ?? FileKeyStore(directory: directory)
        let key = try keyStore.currentKey()
        let address = try ServerAddress(enrollURL)
        let pinSet = try PinSet(host: address.host, pins: pins, expires: pinsExpire)
        var chain = caChain
        if chain == nil {
            // First contact: the pin, the leaf's validity and its host name authenticate the server.
            let first = try await HTTPSConnection.open(
                host: address.host, port: address.port, trust: ServerTrust(pins: pinSet, roots: []),
                clientCertificatePEM: nil, clientKeyPEM: nil)
            defer { first.close() }
            let response = try await first.send(method: "GET", target: "/v1/ca", headers: [], body: nil)
            try Self.check(response)
            chain = String(decoding: response.body, as: UTF8.self)
        }
        let roots = try Self.roots(chain ?? "")
        let connection = try await HTTPSConnection.open(
            host: address.host, port: address.port, trust: ServerTrust(pins: pinSet, roots: roots),
            clientCertificatePEM: nil, clientKeyPEM: nil)
        defer { connection.close() }
        let started: EnrollmentStartResponse = try await Self.json(
            connection, "POST", "/v1/enrollments",
            EnrollmentStartRequest(username: username, password: password, deviceName: deviceName))
        let oneTimeCode = try await code(started)
        let csr = try key.makeCSR(deviceName: deviceName)
        var payload: AttestationPayload?
        if let attestation {
            guard let challenge = started.attestationChallenge.flatMap({ Data(base64Encoded: $0) }),
                let csrDER = PEM.decode(csr)?.der
            else { throw ClientError.invalid("the server sent no attestation challenge") }
            payload = try await attestation.attestation(challenge: Array(challenge), csrDER: csrDER)
        }
        let issued: CertificateResponse = try await Self.json(
            connection, "POST", "/v1/enrollments/\(started.enrollmentID)/complete",
            EnrollmentCompleteRequest(code: oneTimeCode, csr: csr, attestation: payload))
        var state = DeviceState(
            enrollURL: enrollURL, apiURL: issued.apiURL, pins: pins, pinsExpire: pinsExpire, caChain: chain)
        state.deviceID = issued.deviceID
        state.username = username
        try SecureFile.write(issued.certificate, to: directory + "/device.pem", mode: 0o644, overwrite: true)
        try SecureFile.write(issued.chain, to: directory + "/chain.pem", mode: 0o644, overwrite: true)
        try state.save(to: directory)
        return try LatchkeyClient(directory: directory, keyStore: keyStore, attestation: attestation)
    }

    // MARK: Calls

    /// Calls the API over pinned mutual TLS. `sign` forces (true) or forbids (false) an RFC 9421 signature; by
    /// default endpoints that require one are signed.
    public func call(_ method: String, _ target: String, body: Data? = nil, sign: Bool? = nil) async throws
        -> HTTPResult
    {
        let path = String(target.split(separator: "?", maxSplits: 1).first ?? "")
        let mustSign = sign ?? SignedEndpoints.requiresSignature(method: method, path: path)
        var headers: [(String, String)] = []
        if let body, !body.isEmpty { headers.append(("Content-Type", "application/json")) }
        if mustSign { headers += try await signatureHeaders(method, target, body: body) }
        return try await sendOnAPI(method, target, headers: headers, body: body)
    }

    /// The header fields that sign a request (RFC 9421 over a fresh server nonce, and the `App-Assertion` over its
    /// signature base when an attestation provider makes one), without sending it: for tools that send it
    /// themselves, such as the replay demonstration of `latchkey demo`.
    public func signatureHeaders(_ method: String, _ target: String, body: Data?) async throws -> [(String, String)] {
        let nonceResponse = try await sendOnAPI("GET", "/v1/nonce", headers: [], body: nil)
        try Self.check(nonceResponse)
        let nonce = try JSONDecoder().decode(NonceResponse.self, from: nonceResponse.body).nonce
        let signed = try RequestSigner.signed(
            method: method, target: target, body: body, nonce: nonce, keyID: state.deviceID ?? "",
            signer: try keyStore.currentKey())
        var headers = signed.headers
        if let attestation, let assertion = try await attestation.assertion(clientData: Array(signed.base.utf8)) {
            headers.append((AppAssertionHeader.name, AppAssertionHeader.value(assertion)))
        }
        return headers
    }

    /// Sends a request exactly as given (headers included) over this device's pinned mutual-TLS connection.
    public func send(_ method: String, _ target: String, headers: [(String, String)], body: Data?) async throws
        -> HTTPResult
    {
        try await sendOnAPI(method, target, headers: headers, body: body)
    }

    /// One request over pinned mutual TLS with any certificate and key, outside an enrolled device directory: for
    /// tools that show what a server does with a certificate presented without its own key.
    public static func probe(
        url: String, pins: [String], caChain: String, certificatePEM: String, keyPEM: String, method: String,
        target: String
    ) async throws -> HTTPResult {
        let address = try ServerAddress(url)
        let connection = try await HTTPSConnection.open(
            host: address.host, port: address.port,
            trust: ServerTrust(pins: try PinSet(host: address.host, pins: pins), roots: try roots(caChain)),
            clientCertificatePEM: certificatePEM, clientKeyPEM: keyPEM)
        defer { connection.close() }
        return try await connection.send(method: method, target: target, headers: [], body: nil)
    }

    /// One request to an enrollment listener over a pinned TLS connection (first contact trust: pins, validity and
    /// host name), for tools.
    public static func enrollmentRequest(url: String, pins: [String], method: String, target: String, body: Data?)
        async throws -> HTTPResult
    {
        let address = try ServerAddress(url)
        let connection = try await HTTPSConnection.open(
            host: address.host, port: address.port,
            trust: ServerTrust(pins: try PinSet(host: address.host, pins: pins), roots: []), clientCertificatePEM: nil,
            clientKeyPEM: nil)
        defer { connection.close() }
        return try await connection.send(
            method: method, target: target, headers: [("Content-Type", "application/json")], body: body)
    }

    private func sendOnAPI(_ method: String, _ target: String, headers: [(String, String)], body: Data?) async throws
        -> HTTPResult
    {
        let connection = try await apiConnection()
        return try await connection.send(method: method, target: target, headers: headers, body: body)
    }

    private func apiConnection() async throws -> HTTPSConnection {
        guard let apiURL = state.apiURL else { throw ClientError.notEnrolled }
        let address = try ServerAddress(apiURL)
        if let open = connections[address], open.isActive { return open }
        guard FileManager.default.fileExists(atPath: certificatePath) else { throw ClientError.notEnrolled }
        let connection = try await HTTPSConnection.open(
            host: address.host, port: address.port,
            trust: ServerTrust(
                pins: try PinSet(host: address.host, pins: state.pins, expires: state.pinsExpire),
                roots: try Self.roots(state.caChain ?? "")),
            clientCertificatePEM: try SecureFile.readPublic(certificatePath),
            clientKeyPEM: try keyStore.tlsPrivateKeyPEM())
        connections[address] = connection
        return connection
    }

    /// Closes kept-alive connections.
    public func close() {
        for connection in connections.values { connection.close() }
        connections = [:]
    }

    // MARK: Renewal

    /// Renews now: a fresh key, a CSR, `/v1/certificates/renew`; the new certificate is stored, then the new key
    /// replaces the old one.
    public func renew() async throws {
        let pending = try keyStore.makePendingKey()
        let response = try await sendOnAPI(
            "POST", "/v1/certificates/renew", headers: [("Content-Type", "application/json")],
            body: try JSONEncoder().encode(
                RenewRequest(csr: try pending.makeCSR(deviceName: state.deviceID ?? "device"))))
        try Self.check(response)
        let issued = try JSONDecoder().decode(CertificateResponse.self, from: response.body)
        try SecureFile.write(issued.certificate, to: certificatePath + ".pending", mode: 0o644, overwrite: true)
        try keyStore.promotePendingKey()
        guard rename(certificatePath + ".pending", certificatePath) == 0 else {
            throw ClientError.keyFile("cannot store the renewed certificate")
        }
        close()
    }

    /// Renews when less than a third of the certificate's lifetime is left; returns whether it did.
    @discardableResult
    public func renewIfNeeded(now: Date = Date()) async throws -> Bool {
        let certificate = try currentCertificate()
        let lifetime = certificate.notValidAfter.timeIntervalSince(certificate.notValidBefore)
        guard certificate.notValidAfter.timeIntervalSince(now) < lifetime / 3 else { return false }
        try await renew()
        return true
    }

    /// A crash between storing a renewed certificate and promoting its key is finished on the next start.
    static func finishInterruptedRenewal(directory: String, keyStore: any DeviceKeyStore) throws {
        let pendingCertificate = directory + "/device.pem.pending"
        guard FileManager.default.fileExists(atPath: pendingCertificate),
            let certificate = try? Certificate(pemEncoded: try SecureFile.readPublic(pendingCertificate))
        else { return }
        if let key = try? keyStore.currentKey(), key.privateKey.publicKey == certificate.publicKey {
            _ = rename(pendingCertificate, directory + "/device.pem")
        } else if let pending = try? keyStore.pendingKey(), pending.privateKey.publicKey == certificate.publicKey {
            // Interrupted after the server issued the certificate (and revoked the old one) but before the key was
            // promoted: promote it now, or the device would be left with a revoked certificate.
            try keyStore.promotePendingKey()
            _ = rename(pendingCertificate, directory + "/device.pem")
        } else {
            try? FileManager.default.removeItem(atPath: pendingCertificate)
        }
    }

    // MARK: Status

    public struct Status: Sendable {
        public let deviceID: String
        public let username: String
        public let serial: String
        public let notAfter: Date
        public let apiURL: String
        public let pins: [String]
        public let pinsExpire: Date?
    }

    public func status() throws -> Status {
        let certificate = try currentCertificate()
        return Status(
            deviceID: state.deviceID ?? "", username: state.username ?? "",
            serial: SerialNumberGenerator.hex(certificate.serialNumber), notAfter: certificate.notValidAfter,
            apiURL: state.apiURL ?? "", pins: state.pins, pinsExpire: state.pinsExpire)
    }

    func currentCertificate() throws -> Certificate {
        guard FileManager.default.fileExists(atPath: certificatePath) else { throw ClientError.notEnrolled }
        return try Certificate(pemEncoded: try SecureFile.readPublic(certificatePath))
    }

    // MARK: Helpers

    static func roots(_ chainPEM: String) throws -> [Certificate] {
        let documents = (try? PEMDocument.parseMultiple(pemString: chainPEM)) ?? []
        let certificates = documents.compactMap { try? Certificate(pemDocument: $0) }
        guard let root = certificates.first(where: { $0.issuer == $0.subject }) else {
            throw ClientError.invalid("the CA chain has no root certificate")
        }
        return [root]
    }

    static func check(_ response: HTTPResult) throws {
        guard response.status >= 400 else { return }
        let body = try? JSONDecoder().decode(ErrorResponse.self, from: response.body)
        throw ClientError.server(
            status: response.status, code: body?.error ?? "http_\(response.status)",
            message: body?.message ?? "the server answered \(response.status)")
    }

    static func json<Request: Encodable, Response: Decodable>(
        _ connection: HTTPSConnection, _ method: String, _ target: String, _ request: Request
    ) async throws -> Response {
        let response = try await connection.send(
            method: method, target: target, headers: [("Content-Type", "application/json")],
            body: try JSONEncoder().encode(request))
        try check(response)
        do {
            return try JSONDecoder().decode(Response.self, from: response.body)
        } catch {
            throw ClientError.transport("the server's answer to \(target) could not be read")
        }
    }
}

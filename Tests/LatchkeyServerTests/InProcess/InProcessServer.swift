import Crypto
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import LatchkeyClient
import LatchkeyPKI
import LatchkeyProtocol
import LatchkeyServer
import LatchkeyStore
import LatchkeyTestSupport
import NIOConcurrencyHelpers
import NIOCore
import Testing

/// A clock a test moves forward: expiry without sleeping.
final class TestClock: Sendable {
    private let current: NIOLockedValueBox<Date>

    init(_ start: Date = Date()) { current = NIOLockedValueBox(start) }

    var now: Date { current.withLockedValue { $0 } }
    func advance(by seconds: TimeInterval) { current.withLockedValue { $0 = $0.addingTimeInterval(seconds) } }
    var serverClock: ServerClock { ServerClock { [current] in current.withLockedValue { $0 } } }
}

/// The client certificate of a request, from a test header (base64 DER): the in-process stand-in for the TLS peer
/// certificate. Only the test target has it; the certificate is then checked exactly as a TLS one.
struct HeaderCertificateSource: ClientCertificateSource {
    static let field = HTTPField.Name("X-Test-Client-Certificate")!

    func certificate(for request: Request, context: LatchkeyRequestContext) async throws -> ByteBuffer? {
        guard let value = request.headers[Self.field], let der = Data(base64Encoded: value) else { return nil }
        return ByteBuffer(bytes: der)
    }
}

/// Both listeners built by the composition root over a temporary SQLite store, a fresh CA, an outbox in a
/// temporary directory and a test clock; requests go through the routers in process (no sockets).
struct InProcessServer {
    let dependencies: ServerDependencies
    let clock: TestClock
    let outboxPath: String
    let databasePath: String

    static func make(
        settings: ServerSettings = ServerSettings(), sink: ((String) -> any OutOfBandSink)? = nil,
        attestation: AttestationAuthority = .unconfigured
    ) async throws -> InProcessServer {
        let directory = try Shell.temporaryDirectory("in-process")
        let authority = try CertificateAuthority.create().authority
        let databasePath = directory + "/latchkey.sqlite"
        let store = try await SQLStore.open(
            .sqlite(path: databasePath), auditKey: try ServerKeys.audit(authority))
        let outbox = directory + "/outbox.jsonl"
        var settings = settings
        settings.bcryptCost = 10
        let clock = TestClock()
        let dependencies = ServerDependencies(
            store: store, authority: authority, sink: sink?(outbox) ?? OutboxSink(path: outbox), settings: settings,
            clock: clock.serverClock, enrollURL: "https://enroll.test", apiURL: "https://api.test",
            attestation: attestation)
        return InProcessServer(dependencies: dependencies, clock: clock, outboxPath: outbox, databasePath: databasePath)
    }

    /// Runs `body` with a client of each listener.
    func run<R: Sendable>(_ body: @Sendable (Clients) async throws -> R) async throws -> R {
        let enrollApp = try buildEnrollmentApplication(dependencies, transport: .plain)
        let apiApp = try buildAPIApplication(dependencies, transport: .plain, certificates: HeaderCertificateSource())
        let server = self
        defer { Task { try? await server.dependencies.store.close() } }
        return try await enrollApp.test(.router) { enroll in
            try await apiApp.test(.router) { api in
                try await body(Clients(enroll: enroll, api: api, server: server))
            }
        }
    }

    func addUser(password: String = "correct horse battery") async throws -> (username: String, password: String, phone: String) {
        let username = "u" + UUID().uuidString.prefix(8).lowercased()
        let phone = "+1555" + String(UInt32.random(in: 1_000_000...9_999_999))
        try await UserAdministration(store: dependencies.store, bcryptCost: 10).addUser(
            username: username, phone: phone, email: nil, password: password)
        return (username, password, phone)
    }

    /// The newest code sent to `phone`.
    func code(to phone: String) throws -> String {
        let lines = try String(contentsOfFile: outboxPath, encoding: .utf8).split(separator: "\n")
        for line in lines.reversed() {
            if let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
                object["to"] as? String == phone, let code = object["code"] as? String
            {
                return code
            }
        }
        throw ServerProcess.Failure(description: "no code for \(phone)")
    }
}

/// A response with its JSON and error code.
struct Answer: Sendable {
    let status: HTTPResponse.Status
    let headers: HTTPFields
    let body: Data

    var json: [String: Any]? { try? JSONSerialization.jsonObject(with: body) as? [String: Any] }
    var array: [[String: Any]]? { try? JSONSerialization.jsonObject(with: body) as? [[String: Any]] }
    var code: ErrorCode? { (json?["error"] as? String).flatMap(ErrorCode.init(rawValue:)) }
    var text: String { String(decoding: body, as: UTF8.self) }
}

/// An enrolled device in process: its key and certificate.
struct InProcessDevice: Sendable {
    let key: DeviceKey
    let certificateDER: Data
    let deviceID: String

    var header: HTTPFields { [HeaderCertificateSource.field: certificateDER.base64EncodedString()] }
}

/// Every error code a test saw, with the status it came with.
actor ObservedCodes {
    static let shared = ObservedCodes()
    private(set) var seen: [ErrorCode: Set<Int>] = [:]

    func record(_ code: ErrorCode, status: Int) { seen[code, default: []].insert(status) }
}

struct Clients: Sendable {
    let enroll: any TestClientProtocol
    let api: any TestClientProtocol
    let server: InProcessServer

    func send(
        _ client: any TestClientProtocol, _ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:],
        body: Data? = nil
    ) async throws -> Answer {
        var headers = headers
        if body != nil && headers[.contentType] == nil { headers[.contentType] = "application/json" }
        let answer = try await client.execute(
            uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(bytes: $0) }
        ) { response in
            Answer(status: response.status, headers: response.headers, body: Data(response.body.readableBytesView))
        }
        if let code = answer.code { await ObservedCodes.shared.record(code, status: answer.status.code) }
        return answer
    }

    func json(_ object: Any) throws -> Data { try JSONSerialization.data(withJSONObject: object) }

    func start(_ user: (username: String, password: String, phone: String), name: String = "phone") async throws
        -> Answer
    {
        try await send(
            enroll, .post, "/v1/enrollments",
            body: json(["username": user.username, "password": user.password, "device_name": name]))
    }

    /// The whole enrollment of a new device for a new user (or `user`).
    func enrollDevice(
        user: (username: String, password: String, phone: String)? = nil, key: P256.Signing.PrivateKey = .init()
    ) async throws -> InProcessDevice {
        let user = try await { if let user { return user } else { return try await server.addUser() } }()
        let started = try await start(user)
        let id = try #require(started.json?["enrollment_id"] as? String, "\(started.text)")
        let deviceKey = DeviceKey(key)
        let completed = try await send(
            enroll, .post, "/v1/enrollments/\(id)/complete",
            body: json(["code": try server.code(to: user.phone), "csr": try deviceKey.makeCSR(deviceName: "phone")]))
        let pem = try #require(completed.json?["certificate"] as? String, "\(completed.text)")
        return InProcessDevice(
            key: deviceKey, certificateDER: Data(PEM.decode(pem)?.der ?? []),
            deviceID: completed.json?["device_id"] as? String ?? "")
    }

    func call(_ device: InProcessDevice, _ method: HTTPRequest.Method, _ uri: String, body: Data? = nil)
        async throws -> Answer
    {
        try await send(api, method, uri, headers: device.header, body: body)
    }

    /// A request signed by the device over a fresh nonce; `tamper` may change what is sent after signing.
    func signed(
        _ device: InProcessDevice, _ method: HTTPRequest.Method, _ uri: String, body: Data? = nil,
        nonce: String? = nil, keyID: String? = nil, covering: [(name: String, value: String)] = [],
        sentBody: Data? = nil, assertion: ((String) throws -> [UInt8])? = nil
    ) async throws -> Answer {
        let nonceValue: String
        if let nonce {
            nonceValue = nonce
        } else {
            nonceValue = try #require(try await call(device, .get, "/v1/nonce").json?["nonce"] as? String)
        }
        let signature = try RequestSigner.signed(
            method: method.rawValue, target: uri, body: body, nonce: nonceValue, keyID: keyID ?? device.deviceID,
            signer: device.key, created: server.clock.now, covering: covering)
        var headers = device.header
        for (name, value) in signature.headers { headers[HTTPField.Name(name)!] = value }
        if let assertion {
            headers[HTTPField.Name(AppAssertionHeader.name)!] = AppAssertionHeader.value(try assertion(signature.base))
        }
        return try await send(api, method, uri, headers: headers, body: sentBody ?? body)
    }

    func accounts(_ device: InProcessDevice) async throws -> [[String: Any]] {
        try await call(device, .get, "/v1/accounts").array ?? []
    }

    func transferBody(from: String, to: String = "DE89370400440532013000", amount: String = "1.00",
        currency: String = "EUR") throws -> Data
    {
        try json(["from": from, "to": to, "amount": amount, "currency": currency])
    }
}

import Foundation
import LatchkeyTestSupport
import Testing

/// One demo server shared by the end-to-end tests that need no special settings.
let sharedServer: ServerProcess = try! ServerProcess(arguments: ["--demo"])

let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .appendingPathComponent("Fixtures").path

/// Whether a test that needs the Python tool of `variable` should run: when the variable is set, and always in CI
/// (where a missing tool then fails). Locally without it the test shows as skipped, not passed.
func pythonToolRuns(_ variable: String) -> Bool {
    ProcessInfo.processInfo.environment[variable] != nil || TestDatabases.isCI
}

/// The Python named by `variable` (a venv with an outside test tool such as sslyze or schemathesis), or nil: locally
/// the test is then skipped with a notice, in CI (`CI=true`) the absence is recorded as a failure.
func pythonTool(_ variable: String, for purpose: String) -> String? {
    if let python = ProcessInfo.processInfo.environment[variable] { return python }
    if TestDatabases.isCI {
        Issue.record("CI=true but \(variable) is not set: \(purpose) is required in CI")
    } else {
        print("notice: \(variable) is not set; \(purpose) is skipped")
    }
    return nil
}

/// A device as an outside client makes it: an openssl key and CSR, enrolled with curl.
struct OutsideDevice {
    let directory: String
    let keyPath: String
    let certificatePath: String
    let deviceID: String
    let serial: String

    static func makeCSR(
        in directory: String, newkey: [String] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"]
    )
        throws -> (csr: String, key: String)
    {
        let key = directory + "/device-\(UUID().uuidString.prefix(6)).key"
        let csr = try OpenSSL.makeCSR(newkey: newkey, keyPath: key)
        SecretLedger.recordKey(atPath: key)
        return (csr, key)
    }

    /// Starts an enrollment with curl and returns its id.
    static func start(_ server: some ServerEndpoints, username: String, password: String, name: String = "phone") throws
        -> Curl.Response
    {
        try Curl.request(
            "POST", server.enrollURL + "/v1/enrollments",
            json: ["username": username, "password": password, "device_name": name], caFile: server.rootCertificatePath)
    }

    static func complete(_ server: some ServerEndpoints, id: String, code: String, csr: String) throws -> Curl.Response
    {
        try Curl.request(
            "POST", server.enrollURL + "/v1/enrollments/\(id)/complete", json: ["code": code, "csr": csr],
            caFile: server.rootCertificatePath)
    }

    /// The whole enrollment: start, code from the outbox, complete with an openssl CSR.
    static func enroll(_ server: ServerProcess, user: TestUser, via front: (any ServerEndpoints)? = nil) throws
        -> OutsideDevice
    {
        let directory = try Shell.temporaryDirectory("device")
        let endpoints: any ServerEndpoints = front ?? server
        let started = try start(endpoints, username: user.username, password: user.password)
        try #require(started.status == 201, "start: \(started.status) \(started.body)")
        let id = try #require(started.json?["enrollment_id"] as? String)
        let (csr, key) = try makeCSR(in: directory)
        let completed = try complete(endpoints, id: id, code: try server.code(to: user.phone), csr: csr)
        try #require(completed.status == 201, "complete: \(completed.status) \(completed.body)")
        let certificatePath = directory + "/device.pem"
        try (completed.json?["certificate"] as? String ?? "").write(
            toFile: certificatePath, atomically: true, encoding: .utf8)
        let serial = try OpenSSL.run(["x509", "-in", certificatePath, "-noout", "-serial"]).stdout
            .replacingOccurrences(of: "serial=", with: "").trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
        return OutsideDevice(
            directory: directory, keyPath: key, certificatePath: certificatePath,
            deviceID: completed.json?["device_id"] as? String ?? "", serial: serial)
    }

    func call(_ server: some ServerEndpoints, _ method: String, _ path: String, json: Any? = nil) throws
        -> Curl.Response
    {
        try Curl.request(
            method, server.apiURL + path, json: json, caFile: server.rootCertificatePath, certificate: certificatePath,
            key: keyPath)
    }

    /// A fresh nonce for this device.
    func nonce(_ server: some ServerEndpoints) throws -> String {
        let response = try call(server, "GET", "/v1/nonce")
        return try #require(response.json?["nonce"] as? String, "nonce: \(response.body)")
    }

    /// A request signed by the independent Python signer (`Tests/Fixtures/sign_request.py`, `cryptography`).
    /// `signedMethod`, `signedTarget`, `signingKey`, `keyID` and `sentBody` let a test make the signature disagree
    /// with what is sent.
    func signedCall(
        _ server: some ServerEndpoints, _ method: String, _ path: String, body: String = "", nonce: String? = nil,
        signedMethod: String? = nil, signedTarget: String? = nil, signingKey: String? = nil, keyID: String? = nil,
        createdOffset: Int = 0, sentBody: String? = nil, bodyData: Data? = nil, covering: [String: String] = [:],
        extraCurlArguments: [String] = []
    ) throws -> Curl.Response {
        let nonce = try nonce ?? self.nonce(server)
        // `--name=value`: a nonce may start with "-", which argparse would take for an option.
        let signed = try Shell.run(
            [
                "python3", fixtures + "/sign_request.py", "--key=" + (signingKey ?? keyPath),
                "--method=" + (signedMethod ?? method), "--target=" + (signedTarget ?? path), "--nonce=" + nonce,
                "--keyid=" + (keyID ?? deviceID), "--created-offset=" + String(createdOffset),
            ] + covering.map { "--cover=\($0.key)=\($0.value)" }, stdin: bodyData ?? Data(body.utf8))
        try #require(signed.status == 0, "signer: \(signed.stderr)")
        let headers = try #require(try JSONSerialization.jsonObject(with: signed.stdoutData) as? [String: String])
        let sending = sentBody ?? body
        return try Curl.request(
            method, server.apiURL + path, rawBody: sending.isEmpty || bodyData != nil ? nil : sending,
            bodyData: bodyData, caFile: server.rootCertificatePath, certificate: certificatePath, key: keyPath,
            extraArguments: ["--path-as-is"] + extraCurlArguments + headers.flatMap { ["-H", "\($0.key): \($0.value)"] })
    }
}

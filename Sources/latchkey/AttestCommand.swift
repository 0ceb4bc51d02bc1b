import ArgumentParser
import Crypto
import Foundation
import LatchkeyAttestation
import LatchkeyCommandLine
import LatchkeyPKI
import SwiftASN1
import X509

/// `latchkey attest ...`: verify recorded attestations, install trust anchors and Android's revocation list (SPEC §6).
struct AttestCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "attest", abstract: "Verify attestations; install attestation roots and revocations.",
        subcommands: [AttestVerifyCommand.self, AttestRootsCommand.self, AttestRevocationsCommand.self])
}

struct AttestVerifyCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "verify",
        abstract: "Verify an attestation or assertion: exit 0 and a JSON object, or exit 1 and CODE: reason.",
        subcommands: [AttestVerifyApple.self, AttestVerifyAppleAssertion.self, AttestVerifyAndroid.self])
}

/// Options shared by the verifiers: the time and the roots.
struct AttestationInputOptions: ParsableArguments {
    @Option(help: "Verify at this RFC 3339 time (default: now).") var at: String?
    @Option(name: .customLong("root"), help: "Trust this root instead of the installed ones (repeatable).")
    var roots: [String] = []
    @OptionGroup var data: DataDirectoryOptions

    func time() throws -> Date {
        guard let at else { return Date() }
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: at) ?? ISO8601DateFormatter().date(from: at) { return date }
        throw ValidationError("--at must be an RFC 3339 time, like 2025-09-26T16:00:00Z")
    }

    func anchors() throws -> AttestationTrustAnchors {
        if !roots.isEmpty {
            let certificates = try AttestationFiles.certificates(files: roots)
            return AttestationTrustAnchors(apple: certificates, google: certificates)
        }
        return AttestationTrustAnchors.load(directory: data.directory.attestationRootsPath).anchors
    }
}

/// Runs a verification, printing its JSON result or `CODE: reason` (exit 1).
func reportVerification<R: Encodable>(_ body: () async throws -> R) async throws {
    do {
        let result = try await body()
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        print(String(decoding: try encoder.encode(result), as: UTF8.self))
    } catch let error as AttestationError {
        FileHandle.standardError.write(Data("\(error.code.rawValue): \(error.message)\n".utf8))
        throw ExitCode(1)
    }
}

/// The bytes of a file holding base64 text or the raw bytes.
func base64OrRaw(_ path: String) throws -> [UInt8] {
    guard let data = FileManager.default.contents(atPath: path) else { throw unreadable(path) }
    let text = String(decoding: data, as: UTF8.self).filter { !$0.isWhitespace }
    if !text.isEmpty, let decoded = Data(base64Encoded: text) { return Array(decoded) }
    return Array(data)
}

/// An input file that cannot be read, reported as SPEC §6 says (`CODE: reason`, exit 1).
func unreadable(_ path: String) -> AttestationError {
    AttestationError(.invalid, check: "input", "cannot read \(path)")
}

func base64Argument(_ value: String, _ name: String) throws -> [UInt8] {
    guard let bytes = Data(base64Encoded: value) else { throw ValidationError("\(name) must be base64") }
    return Array(bytes)
}

struct AttestVerifyApple: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "apple", abstract: "Verify an App Attest attestation.")
    @Option(help: "The attestation object: base64 text or raw CBOR.") var attestation: String
    @Option(name: .customLong("key-id"), help: "The key id, base64.") var keyID: String
    @Option(name: .customLong("app-id"), help: "TEAMID.BUNDLEID.") var appID: String
    @Option(name: .customLong("client-data-hash"), help: "The bytes appended to authData, base64.")
    var clientDataHash: String
    @Option(help: "production or development.") var environment: String = "production"
    @OptionGroup var input: AttestationInputOptions

    struct Output: Encodable {
        let format = "apple-appattest"
        let key_id: String
        let app_id: String
        let environment: String
        let public_key: String
        let counter: UInt32
        let receipt_size: Int
    }

    func run() async throws {
        guard let environment = AppAttestEnvironment(rawValue: environment) else {
            throw ValidationError("--environment must be production or development")
        }
        let keyID = try base64Argument(keyID, "--key-id")
        let hash = try base64Argument(clientDataHash, "--client-data-hash")
        let time = try input.time()
        try await reportVerification {
            let object = try base64OrRaw(attestation)
            let verifier = AppAttestVerifier(
                anchors: try input.anchors().apple, appIDs: [appID], environment: environment)
            let result = try await verifier.verify(attestationObject: object, keyID: keyID, clientDataHash: hash, at: time)
            return Output(
                key_id: Data(result.keyID).base64EncodedString(), app_id: result.appID,
                environment: result.environment.rawValue, public_key: result.publicKey.pemRepresentation,
                counter: result.counter, receipt_size: result.receiptSize)
        }
    }
}

struct AttestVerifyAppleAssertion: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "apple-assertion", abstract: "Verify an App Attest assertion.")
    @Option(help: "The assertion: base64 text or raw CBOR.") var assertion: String
    @Option(name: .customLong("public-key"), help: "The attested key, PEM.") var publicKey: String
    @Option(name: .customLong("client-data"), help: "The exact client data bytes.") var clientData: String
    @Option(name: .customLong("app-id"), help: "TEAMID.BUNDLEID.") var appID: String
    @Option(name: .customLong("previous-counter"), help: "The last counter seen.") var previousCounter: UInt32

    struct Output: Encodable { let counter: UInt32 }

    func run() async throws {
        try await reportVerification {
            let assertion = try base64OrRaw(assertion)
            guard let pem = try? String(contentsOfFile: publicKey, encoding: .utf8),
                let key = try? P256.Signing.PublicKey(pemRepresentation: pem)
            else {
                throw AttestationError(.invalid, check: "input", "\(publicKey) is not a P-256 public key in PEM")
            }
            guard let data = FileManager.default.contents(atPath: clientData) else { throw unreadable(clientData) }
            let verifier = AppAttestAssertionVerifier(publicKey: key, appIDs: [appID])
            return Output(
                counter: try verifier.verify(assertion: assertion, clientData: Array(data), previousCounter: previousCounter))
        }
    }
}

struct AttestVerifyAndroid: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "android", abstract: "Verify an Android Key Attestation chain.")
    @Option(help: "The chain, PEM, leaf first.") var chain: String
    @Option(help: "The attestation challenge, base64.") var challenge: String
    @Option(name: .customLong("package"), help: "NAME:SHA256_BASE64 of an accepted app (repeatable).")
    var packages: [String] = []
    @Flag(name: .customLong("allow-unverified-boot"), help: "Accept unlocked or unverified devices.")
    var allowUnverifiedBoot = false
    @Option(help: "Google's status list (JSON); without it nothing is checked against a list.") var revocations: String?
    @OptionGroup var input: AttestationInputOptions

    func validate() throws {
        for package in packages {
            do { _ = try AndroidPackageRule(argument: package) } catch {
                throw ValidationError("--package \(package): \(error.reason)")
            }
        }
    }

    struct PackageOutput: Encodable {
        let name: String
        let version: Int64
    }

    struct Output: Encodable {
        let format = "android-key"
        let attestation_version: Int64
        let security_level: String
        let verified_boot_state: String
        let device_locked: Bool
        let packages: [PackageOutput]
        let signature_digests: [String]
        let public_key_sha256: String
        let revocation_checked: Bool
    }

    func run() async throws {
        let challenge = try base64Argument(challenge, "--challenge")
        let time = try input.time()
        try await reportVerification {
            guard let text = try? String(contentsOfFile: chain, encoding: .utf8) else { throw unreadable(chain) }
            let documents = (try? PEMDocument.parseMultiple(pemString: text)) ?? []
            guard !documents.isEmpty else {
                throw AttestationError(.invalid, check: "input", "\(chain) holds no PEM certificate")
            }
            let rules = try packages.map { argument throws(AttestationError) in
                try AndroidPackageRule(argument: argument)
            }
            var list: AndroidRevocationList?
            if let revocations {
                guard let data = FileManager.default.contents(atPath: revocations) else {
                    throw unreadable(revocations)
                }
                list = try AndroidRevocationList(json: data, installedAt: Date())
            }
            let verifier = AndroidKeyAttestationVerifier(
                anchors: try input.anchors().google, packages: rules, allowUnverifiedBoot: allowUnverifiedBoot,
                revocations: list)
            let result = try verifier.verify(chain: documents.map(\.derBytes), challenge: challenge, at: time)
            let description = result.description
            return Output(
                attestation_version: description.attestationVersion,
                security_level: result.securityLevel == .strongBox ? "strongbox" : "tee",
                verified_boot_state: description.rootOfTrust?.verifiedBootState.name ?? "unverified",
                device_locked: description.rootOfTrust?.deviceLocked ?? false,
                packages: (description.applicationID?.packages ?? []).map {
                    PackageOutput(name: $0.name, version: $0.version)
                },
                signature_digests: (description.applicationID?.signatureDigests ?? []).map {
                    Data($0).base64EncodedString()
                },
                public_key_sha256: Hex.lowercase(SHA256.hash(data: result.leafSPKI)),
                revocation_checked: result.revocationChecked)
        }
    }
}

struct AttestRootsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "roots", abstract: "Attestation trust anchors.", subcommands: [AttestRootsInstall.self])
}

struct AttestRootsInstall: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Check that each file is Apple's or Google's published root and copy it into DATA_DIR/attestation/roots.")
    @OptionGroup var data: DataDirectoryOptions
    @Argument(help: "PEM files, one root each.") var files: [String]

    func run() async throws {
        do {
            for name in try AttestationFiles.installRoots(files, into: data.directory.attestationRootsPath) {
                print("installed \(data.directory.attestationRootsPath)/\(name)")
            }
        } catch {
            throw CommandFailure("\(error.code.rawValue): \(error.message)")
        }
    }
}

struct AttestRevocationsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "revocations", abstract: "Android's attestation status list.",
        subcommands: [AttestRevocationsInstall.self])
}

struct AttestRevocationsInstall: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract: "Check Google's status list and install it as DATA_DIR/attestation/android-status.json.")
    @OptionGroup var data: DataDirectoryOptions
    @Argument(help: "The JSON file from https://android.googleapis.com/attestation/status.") var file: String

    func run() async throws {
        do {
            let count = try AttestationFiles.installRevocations(file, at: data.directory.androidRevocationsPath)
            print("installed \(data.directory.androidRevocationsPath) (\(count) entries)")
        } catch {
            throw CommandFailure("\(error.code.rawValue): \(error.message)")
        }
    }
}

import ArgumentParser
import Crypto
import Foundation
import LatchkeyCommandLine
import LatchkeyPKI
import LatchkeyServer
import LatchkeyStore
import SwiftASN1
import X509

/// `latchkey ca ...`: create and inspect the private CA, and issue certificates by hand.
struct CACommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ca",
        abstract: "Create, show and use the private CA of a data directory.",
        subcommands: [CAInitCommand.self, CAShowCommand.self, CASignCommand.self]
    )
}

/// `latchkey ca init`: create the root and issuing CA, the server TLS key and certificate, and the backup key.
struct CAInitCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Create the CA (root + issuing), the server TLS certificate and the backup server key.",
        discussion: "Refuses to overwrite an existing CA. Key files are created with mode 0600."
    )

    @OptionGroup var data: DataDirectoryOptions

    @Option(
        name: .customLong("hostname"),
        help: "A host name or IP address the server is reached at (repeatable; default: localhost and 127.0.0.1).")
    var hostnames: [String] = []

    func run() async throws {
        let directory = data.directory
        let material = try directory.initializePKI(
            hostnames: hostnames.isEmpty ? ServerCertificateIssuer.defaultHostnames : hostnames)
        print("created CA in \(directory.path)/ca and server TLS identity in \(directory.path)/tls")
        print(CertificateReport.pinLines(material.server).joined(separator: "\n"))
    }
}

/// `latchkey ca show`: subjects, validity, fingerprints and pins.
struct CAShowCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract:
            "Show the CA and server certificates: subjects, validity, SHA-256 fingerprints, SPKI pins (current and backup)."
    )

    @OptionGroup var data: DataDirectoryOptions

    @Flag(help: "Print JSON instead of text.")
    var json = false

    func run() async throws {
        let directory = data.directory
        let authority = try directory.loadAuthority()
        let server = try directory.loadServerIdentity()
        let entries = [
            ("root", authority.root), ("issuing", authority.issuing), ("server", server.certificate),
        ]
        if json {
            var object: [String: Any] = [:]
            for (role, certificate) in entries { object[role] = try CertificateReport.fields(certificate) }
            object["pins"] = ["current": server.pins[0].description, "backup": server.pins[1].description]
            let bytes = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
            print(String(decoding: bytes, as: UTF8.self))
            return
        }
        for (role, certificate) in entries {
            let fields = try CertificateReport.fields(certificate)
            print("\(role):")
            for key in ["subject", "issuer", "not_before", "not_after", "serial", "sha256_fingerprint", "spki_pin"] {
                print("  \(key.padding(toLength: 19, withPad: " ", startingAt: 0)) \(fields[key] ?? "")")
            }
        }
        print(CertificateReport.pinLines(server).joined(separator: "\n"))
    }
}

/// Text renderings of certificates shared by the `ca` commands.
enum CertificateReport {
    static func fields(_ certificate: Certificate) throws -> [String: String] {
        var serializer = DER.Serializer()
        try serializer.serialize(certificate)
        let fingerprint = SHA256.hash(data: serializer.serializedBytes).map { String(format: "%02X", $0) }
        let formatter = ISO8601DateFormatter()
        return [
            "subject": certificate.subject.description,
            "issuer": certificate.issuer.description,
            "not_before": formatter.string(from: certificate.notValidBefore),
            "not_after": formatter.string(from: certificate.notValidAfter),
            "serial": SerialNumberGenerator.hex(certificate.serialNumber),
            "sha256_fingerprint": fingerprint.joined(separator: ":"),
            "spki_pin": SPKIPin(certificate: certificate).description,
        ]
    }

    static func pinLines(_ server: ServerIdentity) -> [String] {
        ["pins:", "  current \(server.pins[0])", "  backup  \(server.pins[1])"]
    }
}

/// `latchkey ca sign`: operator issuance for a user, under the same policy as enrollment.
struct CASignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sign",
        abstract:
            "Issue a device certificate for a CSR, for a user, under the enrollment policy (only the CSR's key is used).",
        discussion:
            "Records a new device for the user; prints the certificate (or writes it to --out) and the device id on stderr."
    )

    @OptionGroup var data: DataDirectoryOptions
    @Option(help: "The CSR file (PEM or DER).") var csr: String
    @Option(help: "The username the device belongs to.") var user: String
    @Option(name: .customLong("device-name")) var deviceName = "operator-issued"
    @Option(help: "Write the certificate (PEM) here instead of standard output.") var out: String?
    @Option(name: .customLong("cert-lifetime"), help: "Certificate lifetime, such as 7d.") var certLifetime = "7d"

    func run() async throws {
        guard let lifetime = DurationText.seconds(certLifetime) else {
            throw CommandFailure("--cert-lifetime must look like 7d, 12h or 30m")
        }
        guard let bytes = FileManager.default.contents(atPath: csr) else { throw CommandFailure("cannot read \(csr)") }
        let authority = try data.directory.loadAuthority()
        let (deviceID, issued) = try await withStore(data) { store in
            try await DeviceIssuer(store: store, authority: authority, lifetime: lifetime).issueForOperator(
                username: user, deviceName: deviceName, csr: Array(bytes))
        }
        let pem = issued.pem
        if let out {
            try SecureFile.write(pem, to: out, mode: 0o644, overwrite: true)
        } else {
            print(pem, terminator: "")
        }
        FileHandle.standardError.write(Data("issued device \(deviceID) for \(user)\n".utf8))
    }
}

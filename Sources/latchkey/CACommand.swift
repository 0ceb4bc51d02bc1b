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
        subcommands: [CAInitCommand.self, CAShowCommand.self, CASignCommand.self, CACRLCommand.self]
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

/// `latchkey ca crl`: the issuing CA's CRL, for gateways that check client certificates against one.
struct CACRLCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "crl",
        abstract: "Print (or write) the issuing CA's CRL of every revoked, unexpired device certificate.",
        discussion: """
            DER unless --pem. nginx ssl_crl and HAProxy crl-file want a CRL for every CA of the chain: --pem --chain \
            appends the root's CRL over the issuing CA (it needs ca/root.key). Renew the file after every revocation \
            (or fetch GET /v1/crl): a gateway that checks only a CRL is as fresh as its last CRL.
            """)
    @OptionGroup var data: DataDirectoryOptions
    @Option(help: "Write the CRL here instead of standard output.") var out: String?
    @Flag(help: "PEM instead of DER.") var pem = false
    @Flag(help: "With --pem: append the root's CRL over the issuing CA.") var chain = false
    @Option(name: .customLong("crl-lifetime"), help: "How far ahead nextUpdate is, such as 1h.") var crlLifetime = "1h"

    func validate() throws {
        if chain && !pem { throw ValidationError("--chain needs --pem") }
        guard DurationText.seconds(crlLifetime) != nil else {
            throw ValidationError("--crl-lifetime must look like 1h, 30m or 7d")
        }
    }

    func run() async throws {
        let authority = try data.directory.loadAuthority()
        let rootKey = try data.directory.loadRootKey()
        if chain && rootKey == nil {
            throw CommandFailure("--chain needs the root key (\(data.directory.rootKeyPath)) to sign the root's CRL")
        }
        let lifetime = DurationText.seconds(crlLifetime)!
        let (issuing, root) = try await withStore(data) { store in
            let lists = try RevocationLists(store: store, authority: authority, rootKey: rootKey, lifetime: lifetime)
            return (try await lists.issuing(), chain ? try lists.root() : nil)
        }
        var output: [UInt8]
        if pem {
            var text = PEM.encode(issuing, label: "X509 CRL")
            if let root { text += PEM.encode(root, label: "X509 CRL") }
            output = Array(text.utf8)
        } else {
            output = issuing
        }
        if let out {
            guard FileManager.default.createFile(atPath: out, contents: Data(output)) else {
                throw CommandFailure("cannot write \(out)")
            }
        } else {
            FileHandle.standardOutput.write(Data(output))
        }
    }
}

import ArgumentParser
import Foundation
import HTTPTypes
import LatchkeyAttestation
import LatchkeyCommandLine
import LatchkeyServer
import LatchkeyStore
import Logging

/// `latchkey serve`: run the enrollment and API listeners on a data directory.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the enrollment listener (TLS) and the API listener (mutual TLS).",
        discussion: """
            The first run creates the data directory: CA, server TLS key and certificate, backup key, SQLite database \
            and client-config.json. Later runs reuse it. Stops cleanly on SIGINT/SIGTERM. Port 0 picks a free port.
            """
    )

    @OptionGroup var data: DataDirectoryOptions
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(name: .customLong("enroll-port"), help: "Port of the enrollment listener.") var enrollPort = 8443
    @Option(name: .customLong("api-port"), help: "Port of the API listener (mutual TLS).") var apiPort = 8444
    @Option(
        help:
            "Out-of-band sink: outbox (DATA_DIR/outbox.jsonl), webhook:URL (secret in LATCHKEY_WEBHOOK_SECRET), or twilio (TWILIO_* variables)."
    )
    var oob = "outbox"
    @Option(name: .customLong("cert-lifetime"), help: "Device certificate lifetime, such as 7d, 12h, 30m.")
    var certLifetime = "7d"
    @Option(name: .customLong("code-lifetime"), help: "One-time code lifetime (at most 10m).") var codeLifetime = "10m"
    @Option(name: .customLong("nonce-lifetime"), help: "Lifetime of a nonce for signed requests (at most 5m).")
    var nonceLifetime = "2m"
    @Option(name: .customLong("enroll-limit-account"), help: "Enrollment starts allowed per hour per account.")
    var enrollLimitAccount = 20
    @Option(name: .customLong("enroll-limit-address"), help: "Enrollment starts allowed per hour per client address.")
    var enrollLimitAddress = 60
    @Option(
        name: .customLong("header-timeout"),
        help: "Time a connection gets to send a complete request head (slow-loris defence), such as 20s.")
    var headerTimeout = "20s"
    @Option(
        name: .customLong("request-timeout"),
        help: "Time a request may take from its head to the end of its body (slow-body defence), such as 30s.")
    var requestTimeout = "30s"
    @Option(
        name: .customLong("shutdown-grace"),
        help: "Time in-flight requests get after SIGTERM before the server closes what is left, such as 10s.")
    var shutdownGrace = "10s"
    @Option(
        name: .customLong("password-backoff-after"),
        help: "Failed passwords per account before attempts must wait (doubling from one minute).")
    var passwordBackoffAfter = 5
    @Option(
        name: .customLong("password-lock-after"),
        help: "Failed passwords per account before enrollment is locked until `latchkey user reset-codes`.")
    var passwordLockAfter = 50
    @Option(name: .customLong("renewals-per-hour"), help: "Certificate renewals a device may make per hour.")
    var renewalsPerHour = 10
    @Option(name: .customLong("crl-lifetime"), help: "How far ahead a CRL's nextUpdate is, such as 1h.")
    var crlLifetime = "1h"
    @Option(
        name: .customLong("proxy-protocol-from"),
        help: "A proxy address or CIDR whose connections begin with a PROXY protocol header (v1 or v2) naming the client (repeatable).")
    var proxyProtocolFrom: [String] = []
    @Option(
        name: .customLong("metrics-port"),
        help: "Serve GET /metrics (Prometheus text format, plain HTTP) on this port; off unless given; 0 picks one.")
    var metricsPort: Int?
    @Option(name: .customLong("metrics-host"), help: "The address of the metrics listener.")
    var metricsHost = "127.0.0.1"
    @Flag(
        name: .customLong("api-behind-gateway"),
        help: "Serve the API listener as plain HTTP behind gateways that terminate mutual TLS (with --trusted-gateway and --client-cert-header).")
    var apiBehindGateway = false
    @Option(
        name: .customLong("trusted-gateway"),
        help: "A gateway address or CIDR whose client-certificate header is believed (repeatable).")
    var trustedGateways: [String] = []
    @Option(
        name: .customLong("client-cert-header"),
        help: "The header holding the client certificate: URL-encoded PEM (nginx, AWS ALB) or Envoy's X-Forwarded-Client-Cert.")
    var clientCertHeader: String?
    @Option(help: "App attestation at enrollment: off, optional or required.") var attestation = "optional"
    @Option(name: .customLong("apple-app-id"), help: "An App Attest app id, TEAMID.BUNDLEID (repeatable).")
    var appleAppIDs: [String] = []
    @Option(name: .customLong("apple-environment"), help: "App Attest environment: production or development.")
    var appleEnvironment = "production"
    @Option(
        name: .customLong("android-package"),
        help: "An Android app: package name and signing-certificate SHA-256, NAME:SHA256_BASE64 (repeatable).")
    var androidPackages: [String] = []
    @Flag(
        name: .customLong("android-allow-unverified-boot"),
        help: "Accept Android devices whose boot state is not verified or whose bootloader is unlocked.")
    var androidAllowUnverifiedBoot = false
    @Option(
        name: .customLong("android-revocations-max-age"),
        help: "Refuse Android attestations when the installed revocation list is older than this, such as 48h.")
    var androidRevocationsMaxAge = "48h"
    @Flag(
        name: .customLong("transfers-require-attestation"),
        help: "Refuse POST /v1/transfers from devices enrolled without an attestation.")
    var transfersRequireAttestation = false
    @Option(
        name: .customLong("attestation-extra-root"),
        help: "Also trust this attestation root, PEM (private deployments, tests; repeatable).")
    var attestationExtraRoots: [String] = []
    @Option(name: .customLong("bcrypt-cost"), help: "bcrypt cost for passwords (10 to 14).") var bcryptCost = 11
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error.") var logLevel = "info"
    @Option(
        name: .customLong("log-format"),
        help: "text, or json: every line the server writes (the start banner too) is one JSON object.")
    var logFormat = "text"
    @Flag(
        help:
            "Add the demo user alice (phone +15555550100) if absent; her password goes to DATA_DIR/demo-credentials.txt."
    )
    var demo = false

    func validate() throws {
        guard DurationText.seconds(certLifetime) != nil else {
            throw ValidationError("--cert-lifetime must look like 7d, 12h, 30m or 90s")
        }
        guard let code = DurationText.seconds(codeLifetime), code <= 600 else {
            throw ValidationError("--code-lifetime must be a duration of at most 10m")
        }
        guard let nonce = DurationText.seconds(nonceLifetime), nonce <= 300 else {
            throw ValidationError("--nonce-lifetime must be a duration of at most 5m")
        }
        guard let header = DurationText.seconds(headerTimeout), header >= 1, header <= 300 else {
            throw ValidationError("--header-timeout must be a duration from 1s to 5m")
        }
        guard (10...14).contains(bcryptCost) else { throw ValidationError("--bcrypt-cost must be 10 to 14") }
        guard let request = DurationText.seconds(requestTimeout), request >= 1, request <= 600 else {
            throw ValidationError("--request-timeout must be a duration from 1s to 10m")
        }
        guard let grace = DurationText.seconds(shutdownGrace), grace >= 1, grace <= 300 else {
            throw ValidationError("--shutdown-grace must be a duration from 1s to 5m")
        }
        guard passwordBackoffAfter > 0, passwordLockAfter > 0, renewalsPerHour > 0 else {
            throw ValidationError("password and renewal limits must be positive")
        }
        guard Logger.Level(rawValue: logLevel) != nil else { throw ValidationError("unknown --log-level \(logLevel)") }
        guard ["text", "json"].contains(logFormat) else { throw ValidationError("--log-format must be text or json") }
        if apiBehindGateway {
            guard !trustedGateways.isEmpty, let header = clientCertHeader, HTTPField.Name(header) != nil else {
                throw ValidationError("--api-behind-gateway needs --trusted-gateway CIDR and --client-cert-header NAME")
            }
        } else if !trustedGateways.isEmpty || clientCertHeader != nil {
            throw ValidationError("--trusted-gateway and --client-cert-header apply only with --api-behind-gateway")
        }
        guard let crl = DurationText.seconds(crlLifetime), crl >= 60, crl <= 30 * 86_400 else {
            throw ValidationError("--crl-lifetime must be a duration from 1m to 30d")
        }
        for proxy in proxyProtocolFrom where AddressRange(proxy) == nil {
            throw ValidationError("--proxy-protocol-from \(proxy) is not an address or CIDR")
        }
        for gateway in trustedGateways where AddressRange(gateway) == nil {
            throw ValidationError("--trusted-gateway \(gateway) is not an address or CIDR")
        }
        guard AttestationMode(rawValue: attestation) != nil else {
            throw ValidationError("--attestation must be off, optional or required")
        }
        guard AppAttestEnvironment(rawValue: appleEnvironment) != nil else {
            throw ValidationError("--apple-environment must be production or development")
        }
        for appID in appleAppIDs where !appID.contains(".") {
            throw ValidationError("--apple-app-id \(appID) must be TEAMID.BUNDLEID")
        }
        for package in androidPackages {
            do { _ = try AndroidPackageRule(argument: package) } catch {
                throw ValidationError("--android-package \(package): \(error.reason)")
            }
        }
        if transfersRequireAttestation && attestation == AttestationMode.off.rawValue {
            throw ValidationError("--transfers-require-attestation needs --attestation optional or required")
        }
        guard DurationText.seconds(androidRevocationsMaxAge) != nil else {
            throw ValidationError("--android-revocations-max-age must look like 48h")
        }
        guard enrollLimitAccount > 0, enrollLimitAddress > 0 else {
            throw ValidationError("enrollment limits must be positive")
        }
    }

    func run() async throws {
        ResourceLimits.raiseOpenFileLimit()
        var options = LatchkeyServer.Options(dataDirectory: data.directory)
        options.database = data.database == nil ? nil : try data.databaseURL()
        options.oob = oob
        options.demo = demo
        options.settings.host = host
        options.settings.enrollPort = enrollPort
        options.settings.apiPort = apiPort
        options.settings.certificateLifetime = DurationText.seconds(certLifetime)!
        options.settings.codeLifetime = DurationText.seconds(codeLifetime)!
        options.settings.nonceLifetime = DurationText.seconds(nonceLifetime)!
        options.settings.enrollLimitPerAccount = enrollLimitAccount
        options.settings.enrollLimitPerAddress = enrollLimitAddress
        options.settings.bcryptCost = UInt8(bcryptCost)
        options.settings.headerTimeoutSeconds = Int64(DurationText.seconds(headerTimeout)!)
        options.settings.requestTimeoutSeconds = Int64(DurationText.seconds(requestTimeout)!)
        options.settings.shutdownGraceSeconds = Int64(DurationText.seconds(shutdownGrace)!)
        options.settings.passwordBackoffAfter = passwordBackoffAfter
        options.settings.passwordLockAfter = passwordLockAfter
        options.settings.renewalsPerHour = renewalsPerHour
        options.settings.metricsPort = metricsPort
        options.settings.crlLifetime = DurationText.seconds(crlLifetime)!
        options.settings.proxyProtocolFrom = proxyProtocolFrom.compactMap(AddressRange.init)
        options.settings.metricsHost = metricsHost
        options.settings.attestation.mode = AttestationMode(rawValue: attestation)!
        options.settings.attestation.appleAppIDs = appleAppIDs
        options.settings.attestation.appleEnvironment = AppAttestEnvironment(rawValue: appleEnvironment)!
        options.settings.attestation.androidPackages = try androidPackages.map { try AndroidPackageRule(argument: $0) }
        options.settings.attestation.androidAllowUnverifiedBoot = androidAllowUnverifiedBoot
        options.settings.attestation.androidRevocationsMaxAge = DurationText.seconds(androidRevocationsMaxAge)!
        options.settings.attestation.transfersRequireAttestation = transfersRequireAttestation
        options.attestationExtraRoots = attestationExtraRoots
        if apiBehindGateway {
            options.settings.trustedGateways = trustedGateways.compactMap(AddressRange.init)
            options.settings.gatewayCertificateHeader = clientCertHeader
        }
        let level = Logger.Level(rawValue: logLevel)!
        let json = logFormat == "json"
        LoggingSystem.bootstrap { label in
            if json {
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            }
            var handler = TextLogHandler(label: label)
            handler.logLevel = level
            return handler
        }
        var logger = Logger(label: "latchkey")
        logger.logLevel = level
        try await LatchkeyServer(options: options, logger: logger).run { line in
            let text = json ? JSONLogHandler.line(line) : "latchkey: " + line
            FileHandle.standardOutput.write(Data((text + "\n").utf8))
        }
    }
}

import Crypto
import Foundation
import LatchkeyAttestation
import Testing
import SwiftASN1
import X509

/// Each Android check refuses on its own, on chains made under a test root; the KeyDescription parser reads every
/// real vector.
@Suite struct AndroidStepTests {
    let simulator: AttestationSimulator
    let deviceKey = P256.Signing.PrivateKey()
    let challenge = Array(repeating: UInt8(7), count: 32)
    let digest = Array(SHA256.hash(data: Array("signing certificate".utf8)))
    var rule: AndroidPackageRule { AndroidPackageRule(name: "com.example.bank", signingDigest: digest) }
    var claims: AttestationSimulator.AndroidClaims { .init(package: "com.example.bank", signatureDigest: digest) }

    init() throws { simulator = try AttestationSimulator() }

    func chain(_ change: (inout AttestationSimulator.AndroidClaims) -> Void = { _ in }) throws -> [[UInt8]] {
        var claims = self.claims
        change(&claims)
        return try simulator.androidChain(
            publicKey: Certificate.PublicKey(deviceKey.publicKey), challenge: challenge, claims: claims)
    }

    func verifier(allowUnverifiedBoot: Bool = false, revocations: AndroidRevocationList? = nil) -> AndroidKeyAttestationVerifier {
        AndroidKeyAttestationVerifier(
            anchors: [simulator.root], packages: [rule], allowUnverifiedBoot: allowUnverifiedBoot,
            revocations: revocations)
    }

    func check(_ expected: String, _ verifier: AndroidKeyAttestationVerifier? = nil, chain: [[UInt8]]? = nil,
               challenge: [UInt8]? = nil, at: Date = Date()) throws {
        let chain = try chain ?? self.chain()
        let verifier = verifier ?? self.verifier()
        do throws(AttestationError) {
            _ = try verifier.verify(chain: chain, challenge: challenge ?? self.challenge, at: at)
            Issue.record("accepted; expected a refusal by \(expected)")
        } catch {
            #expect(error.check == expected, "\(error)")
        }
    }

    @Test func aGenuineChainIsAccepted() throws {
        let result = try verifier().verify(chain: chain(), challenge: challenge, at: Date())
        #expect(result.leafPublicKey == Certificate.PublicKey(deviceKey.publicKey))
        #expect(result.securityLevel == .trustedEnvironment)
        let strongBox = try verifier().verify(chain: chain { $0.securityLevel = .strongBox }, challenge: challenge, at: Date())
        #expect(strongBox.securityLevel == .strongBox)
        // The root may be left out of the chain.
        _ = try verifier().verify(chain: Array(chain().dropLast()), challenge: challenge, at: Date())
    }

    @Test func eachCheckRefuses() throws {
        try check("challenge", challenge: Array(repeating: 8, count: 32))
        try check("security_level", chain: chain { $0.securityLevel = .software })
        try check("boot_state", chain: chain { $0.bootState = .unverified })
        try check("boot_state", chain: chain { $0.deviceLocked = false })
        try check("package", chain: chain { $0.packages = [("com.example.other", 1)] })
        try check("package", chain: chain { $0.signatureDigests = [Array(repeating: 0, count: 32)] })
        try check("chain", chain: chain().reversed())
        // The leaf alone, or a leaf carrying the root's own key: never its own anchor.
        try check("chain", chain: [chain()[0]])
        try check("chain", chain: [chain()[2]])
        try check("validity", at: Date().addingTimeInterval(400 * 86_400))
        try check("chain", AndroidKeyAttestationVerifier(
            anchors: [try AttestationSimulator().root], packages: [rule], allowUnverifiedBoot: false, revocations: nil))
        _ = try verifier(allowUnverifiedBoot: true).verify(
            chain: chain { $0.bootState = .unverified; $0.deviceLocked = false }, challenge: challenge, at: Date())
    }

    @Test func aRevokedCertificateAnywhereInTheChainRefuses() throws {
        let chain = try chain()
        for (index, der) in chain.enumerated() {
            let serial = Array(try Certificate(derEncoded: der).serialNumber.bytes)
            let hex = serial.map { String(format: "%02x", $0) }.joined()
            let list = AndroidRevocationList(entries: [hex: "REVOKED"], installedAt: Date())
            let verifier = verifier(revocations: list)
            do throws(AttestationError) {
                _ = try verifier.verify(chain: chain, challenge: challenge, at: Date())
                Issue.record("certificate \(index) is revoked yet the chain was accepted")
            } catch {
                #expect(error.check == "revocation")
                #expect(error.reason.contains("certificate \(index)"))
            }
        }
        #expect(AndroidRevocationList.decimal([0x01, 0x00]) == "256")
        for bad in [" d50ff25ba3f2d6b3", "0x1", "-12", ""] {
            #expect(throws: AttestationError.self, "\(bad)") {
                try AndroidRevocationList(json: Data("{\"entries\": {\"\(bad)\": {\"status\": \"REVOKED\"}}}".utf8), installedAt: Date())
            }
        }
        #expect(AndroidRevocationList(entries: ["256": "REVOKED"], installedAt: Date()).status(serial: [1, 0]) == "REVOKED")
    }

    @Test func onlyTheLeafMayCarryAKeyDescription() throws {
        // A certificate signed by an attested key, carrying a forged description: the attested key's own
        // certificate, now second in the chain, carries the extension.
        let genuine = try chain()
        let forged = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: Certificate.PublicKey(P256.Signing.PrivateKey().publicKey),
            notValidBefore: Date().addingTimeInterval(-60), notValidAfter: Date().addingTimeInterval(3600),
            issuer: try Certificate(derEncoded: genuine[0]).subject,
            subject: try DistinguishedName { CommonName("forged") }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate(derEncoded: genuine[0]).extensions,
            issuerPrivateKey: Certificate.PrivateKey(deviceKey))
        var serializer = DERSerializerBox()
        try check("extension", chain: [serializer.der(forged)] + genuine)
    }

    @Test func theRealDescriptionsParse() throws {
        let expectations: [(String, Int64, AndroidKeyDescription.SecurityLevel, Bool)] = [
            ("akita-sdk34-TEE_EC_NONE.pem", 300, .trustedEnvironment, false),
            ("caiman-sdk36-TEE_EC_RKP.pem", 400, .trustedEnvironment, true),
            ("caiman-sdk36-SB_EC_RKP.pem", 300, .strongBox, true),
            ("marlin-sdk29-TEE_EC_NONE.pem", 2, .software, false),
            // deviceLocked is the non-DER BOOLEAN 0x01 here: BER reads it as true.
            ("invalid-malformed_rot_device_locked.pem", 0, .trustedEnvironment, true),
        ]
        for (file, version, level, locked) in expectations {
            let text = try String(contentsOfFile: Vectors.path("android/\(file)"), encoding: .utf8)
            let leaf = try #require(try PEMCertificates.parse(text).first)
            let ext = try #require(leaf.extensions[oid: AndroidKeyDescription.extensionOID])
            let description = try AndroidKeyDescription(berEncoded: Array(ext.value))
            if version != 0 { #expect(description.attestationVersion == version, "\(file)") }
            #expect(description.attestationSecurityLevel == level, "\(file)")
            if level != .software { #expect(description.rootOfTrust?.deviceLocked == locked, "\(file)") }
        }
    }
}

struct DERSerializerBox {
    mutating func der(_ certificate: Certificate) throws -> [UInt8] {
        var serializer = SwiftASN1.DER.Serializer()
        try serializer.serialize(certificate)
        return serializer.serializedBytes
    }
}

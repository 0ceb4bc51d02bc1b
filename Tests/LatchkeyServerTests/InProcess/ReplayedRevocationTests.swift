import Crypto
import Foundation
import LatchkeyPKI
import LatchkeyStore
import LatchkeyTestSupport
import Testing
import X509

@testable import LatchkeyServer

/// Attack review finding F4: replays now reach the handler (the nonce is spent in the handler's transaction), so a
/// replayed signed revocation must be refused without side effects on this instance's identity cache.
@Suite struct ReplayedRevocationTests {
    @Test func aReplayedRevocationLeavesTheIdentityCacheAlone() async throws {
        let store = try await SQLStore.open(
            try DatabaseURL(try TestDatabases.fresh(.sqlite)), auditKey: SymmetricKey(size: .bits256))
        let authority = try CertificateAuthority.create().authority
        let sessions = DeviceSessions()
        let devices = try DeviceAuthority(
            store: store, authority: authority, settings: ServerSettings(), apiURL: "https://127.0.0.1:1",
            sessions: sessions)
        let now = Date()
        let user = UserRecord(
            id: "usr-owner", username: "owner", passwordHash: "x", phone: "+15555550100", email: nil, createdAt: now)
        try await store.createUser(
            user, accounts: [], audit: AuditEntry(time: now, actor: "test", action: "user.created", subject: user.id))
        var certificates: [String: Certificate] = [:]
        for deviceID in ["dev-tablet", "dev-phone"] {
            let certificate = try IssuancePolicy().issue(
                publicKey: Certificate.PublicKey(P256.Signing.PrivateKey().publicKey), deviceID: deviceID,
                userID: user.id, authority: authority, now: now)
            let issued = try IssuedCertificate(certificate)
            try await store.addDevice(
                DeviceRecord(id: deviceID, userID: user.id, name: deviceID, enrolledAt: now),
                certificate: CertificateRecord(
                    serial: issued.serialHex, deviceID: deviceID, notBefore: issued.notValidBefore,
                    notAfter: issued.notValidAfter, spkiSHA256: issued.spkiSHA256,
                    derBase64: Data(issued.der).base64EncodedString()),
                audit: AuditEntry(time: now, actor: "test", action: "device.added", subject: deviceID))
            certificates[deviceID] = certificate
        }
        let tablet = try #require(certificates["dev-tablet"])
        let owner = VerifiedDevice(
            identity: DeviceIdentity(
                userID: user.id, deviceID: "dev-tablet", serial: SerialNumberGenerator.hex(tablet.serialNumber),
                notAfter: tablet.notValidAfter),
            certificate: tablet, username: user.username)
        let evidence = SignatureEvidence(
            serial: owner.identity.serial, keyID: "dev-tablet", algorithm: "ecdsa-p256-sha256",
            signatureBase: "\"@method\": DELETE", signature: "AA==", body: Data())
        let signed = ReplayGuard(
            nonce: "nonce-1", deviceID: "dev-tablet", nonceExpiresAt: now.addingTimeInterval(60), now: now)

        let before = sessions.generation
        #expect(
            try await devices.revoke(
                owner, deviceID: "dev-phone", evidence: evidence, replayGuard: PendingReplayGuard(signed), now: now))
        let afterRevocation = sessions.generation
        #expect(afterRevocation != before, "the revocation itself invalidates memory")

        var replayCode: StoreError.Code?
        do {
            _ = try await devices.revoke(
                owner, deviceID: "dev-phone", evidence: evidence, replayGuard: PendingReplayGuard(signed), now: now)
        } catch let error as StoreError {
            replayCode = error.code
        }
        #expect(replayCode == .nonceReused)
        #expect(sessions.generation == afterRevocation, "a replay must not invalidate memory")
        try await store.close()
    }
}

import Crypto
import Foundation
import LatchkeyPKI
import LatchkeyProtocol
import LatchkeyStore
import Logging
import NIOCore

/// What an enrolled device may do about itself and its user's devices: who am I, renew, list, revoke, nonces.
///
/// Guarantees: a device acts only on its own user's devices (another user's device is "not found"); a renewal keeps
/// the device id and revokes every earlier certificate once the new one is stored.
public struct DeviceAuthority: Sendable {
    let store: any LatchkeyStore
    let authority: CertificateAuthority
    let issuer: DeviceIssuer
    let revocation: DeviceRevocation
    let settings: ServerSettings
    let apiURL: String
    /// Identities held in memory per connection: told of every revocation made here before its answer goes out.
    let sessions: DeviceSessions
    let nonces: NonceMinter

    public init(
        store: any LatchkeyStore, authority: CertificateAuthority, settings: ServerSettings, apiURL: String,
        sessions: DeviceSessions = DeviceSessions()
    ) throws {
        self.sessions = sessions
        self.nonces = NonceMinter(key: try ServerKeys.nonces(authority))
        self.store = store
        self.authority = authority
        self.issuer = try DeviceIssuer(store: store, authority: authority, lifetime: settings.certificateLifetime)
        self.revocation = DeviceRevocation(store: store)
        self.settings = settings
        self.apiURL = apiURL
    }

    func me(_ device: VerifiedDevice) async throws -> MeResponse {
        MeResponse(
            userID: device.identity.userID, username: device.username, deviceID: device.identity.deviceID,
            certificateSerial: device.identity.serial, notAfter: Timestamp.string(device.identity.notAfter),
            assurance: device.assurance.rawValue)
    }

    func renew(_ device: VerifiedDevice, _ request: RenewRequest, now: Date = Date()) async throws
        -> CertificateResponse
    {
        // Renewals per device per hour: certificates are counted by issuance (notBefore is backdated a little).
        let windowStart = now.addingTimeInterval(-3600 - issuer.policy.backdate)
        let recent = try await store.certificates(deviceID: device.identity.deviceID).filter {
            $0.notBefore >= windowStart
        }
        if recent.count >= settings.renewalsPerHour {
            throw Refusal(.rateLimited, "too many renewals for this device; retry in an hour",
                retryAfter: 3600)
        }
        let issued = try await issuer.renew(
            deviceID: device.identity.deviceID, userID: device.identity.userID, assurance: device.assurance,
            previousSerial: device.identity.serial, csr: request.csr,
            requiredKey: device.assurance.attestsTLSKey ? device.certificate.publicKey : nil, now: now)
        // The earlier certificates are revoked now: connections presenting them are checked again.
        sessions.invalidateAll()
        return issued.response(deviceID: device.identity.deviceID, authority: authority, apiURL: apiURL)
    }

    func devices(_ device: VerifiedDevice) async throws -> [DeviceInfo] {
        try await store.devices(userID: device.identity.userID).map { record in
            DeviceInfo(
                deviceID: record.id, name: record.name, status: record.status.rawValue,
                enrolledAt: Timestamp.string(record.enrolledAt),
                lastSeenAt: record.lastSeenAt.map { Timestamp.string($0) },
                current: record.id == device.identity.deviceID, assurance: record.assurance)
        }
    }

    /// Revokes one of the caller's user's devices; false if it was already revoked. Before this returns, no
    /// connection of this instance is answered for the device from memory, and its other connections are closed.
    func revoke(
        _ device: VerifiedDevice, deviceID: String, evidence: SignatureEvidence, replayGuard: PendingReplayGuard,
        connection: (any Channel)? = nil, now: Date = Date()
    ) async throws -> Bool {
        guard let target = try await store.device(id: deviceID), target.userID == device.identity.userID else {
            throw Refusal.notFound("no such device")
        }
        do {
            let changed = try await replayGuard.spend { replayGuard in
                try await revocation.revoke(
                    deviceID: deviceID, actor: "device:\(device.identity.deviceID)", reason: "revoked by the user",
                    signature: evidence, replayGuard: replayGuard, now: now)
            }
            sessions.revoked(deviceID: deviceID, except: connection)
            return changed
        } catch let refusal as StoreError where refusal.isRefusal {
            // Nothing was revoked (a replay, say): memory is left alone, so replays cannot flush it.
            throw refusal
        } catch {
            // A commit whose answer was lost (a failed or cancelled call) must not go unseen by memory.
            sessions.revoked(deviceID: deviceID, except: connection)
            throw error
        }
    }

    /// A nonce for the device's next signed request: made in memory (``NonceMinter``), nothing is written.
    func nonce(_ device: VerifiedDevice, now: Date = Date()) -> NonceResponse {
        let expiresAt = Date(timeIntervalSince1970: (now.timeIntervalSince1970 + settings.nonceLifetime).rounded(.down))
        return NonceResponse(
            nonce: nonces.mint(deviceID: device.identity.deviceID, expiresAt: expiresAt),
            expiresAt: Timestamp.string(expiresAt))
    }
}

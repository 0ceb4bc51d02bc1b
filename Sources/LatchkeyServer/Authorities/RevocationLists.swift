import Foundation
import LatchkeyPKI
import LatchkeyProtocol
import LatchkeyStore
import X509

/// The CRLs of the private CA (SPEC §7): the issuing CA's, listing every revoked, unexpired device certificate, and
/// the root's over the issuing CA (which nginx and HAProxy also demand).
///
/// Guarantees: each list is made from the store when it is asked for, so it reflects every revocation made through
/// any instance or the CLI up to that moment; `nextUpdate` is `lifetime` ahead; the CRL number is the issue time in
/// milliseconds, so later lists carry higher numbers. The root's list needs the root key: without it (kept offline)
/// it is refused with `service_unavailable`.
public struct RevocationLists: Sendable {
    let store: any LatchkeyStore
    let authority: CertificateAuthority
    let issuingSigner: CertificateRevocationList.Signer
    let rootSigner: CertificateRevocationList.Signer?
    let lifetime: TimeInterval

    public init(
        store: any LatchkeyStore, authority: CertificateAuthority, rootKey: Certificate.PrivateKey?,
        lifetime: TimeInterval
    ) throws {
        self.store = store
        self.authority = authority
        self.issuingSigner = try CertificateRevocationList.Signer(authority.issuingKey)
        self.rootSigner = try rootKey.map(CertificateRevocationList.Signer.init)
        self.lifetime = lifetime
    }

    /// The issuing CA's CRL (DER).
    public func issuing(now: Date = Date()) async throws -> [UInt8] {
        let entries = try await store.revokedCertificates(now: now).compactMap {
            CertificateRevocationList.Entry(serialHex: $0.serial, revokedAt: $0.revokedAt)
        }
        return try CertificateRevocationList.make(
            issuer: authority.issuing, signer: issuingSigner, entries: entries, thisUpdate: now,
            nextUpdate: now.addingTimeInterval(lifetime), number: Self.number(now))
    }

    /// The root's CRL (DER): no issuing CA of Latchkey's is revoked.
    public func root(now: Date = Date()) throws -> [UInt8] {
        guard let rootSigner else {
            throw Refusal(.serviceUnavailable, "the root key is not on this server: no root CRL can be issued here")
        }
        return try CertificateRevocationList.make(
            issuer: authority.root, signer: rootSigner, entries: [], thisUpdate: now,
            nextUpdate: now.addingTimeInterval(lifetime),
            number: Self.number(now))
    }

    static func number(_ now: Date) -> UInt64 { UInt64(max(0, (now.timeIntervalSince1970 * 1000).rounded())) }
}

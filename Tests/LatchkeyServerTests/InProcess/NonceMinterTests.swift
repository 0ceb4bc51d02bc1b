import Crypto
import Foundation
import Testing

@testable import LatchkeyServer

/// Nonces are MACs of the server (issue 17): bound to a device and an expiry, and spelled one way only.
@Suite struct NonceMinterTests {
    let minter = NonceMinter(key: SymmetricKey(size: .bits256))
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aNonceVerifiesForItsDeviceUntilItExpires() {
        let nonce = minter.mint(deviceID: "dev-1", expiresAt: now.addingTimeInterval(120))
        #expect(minter.check(nonce, deviceID: "dev-1", now: now) == .valid(expiresAt: now.addingTimeInterval(120)))
        #expect(minter.check(nonce, deviceID: "dev-2", now: now) == .invalid)
        #expect(minter.check(nonce, deviceID: "dev-1", now: now.addingTimeInterval(120)) == .expired)
        #expect(NonceMinter(key: SymmetricKey(size: .bits256)).check(nonce, deviceID: "dev-1", now: now) == .invalid)
    }

    @Test func onlyTheCanonicalSpellingIsAccepted() {
        let nonce = minter.mint(deviceID: "dev-1", expiresAt: now.addingTimeInterval(120))
        // 41 bytes are 55 base64 characters whose last one carries 2 unused bits: every other character that
        // decodes to the same bytes is refused, as is any change that alters them.
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
        var accepted = 0
        for character in alphabet {
            let variant = String(nonce.dropLast()) + String(character)
            if case .valid = minter.check(variant, deviceID: "dev-1", now: now) { accepted += 1 }
        }
        #expect(accepted == 1)
        #expect(minter.check(nonce + "=", deviceID: "dev-1", now: now) == .invalid)
        #expect(minter.check(nonce.replacingOccurrences(of: "-", with: "+"), deviceID: "dev-1", now: now) == .invalid
            || !nonce.contains("-"))
        #expect(minter.check("", deviceID: "dev-1", now: now) == .invalid)
        #expect(minter.check(String(repeating: "A", count: 200), deviceID: "dev-1", now: now) == .invalid)
    }
}

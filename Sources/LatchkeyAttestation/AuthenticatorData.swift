/// WebAuthn authenticator data as App Attest uses it (rpIdHash, flags, counter, then for an attestation the attested
/// credential data).
///
/// Guarantees: the bytes after the credential public key are accepted only if they are one well-formed CBOR map (the
/// extensions of the ED flag, or the second map of the newer App Attest layout with that flag clear); anything else
/// is refused.
public struct AuthenticatorData: Sendable, Equatable {
    public let bytes: [UInt8]
    public let rpIDHash: [UInt8]
    public let flags: UInt8
    public let counter: UInt32
    public let credential: AttestedCredential?

    public struct AttestedCredential: Sendable, Equatable {
        public let aaguid: [UInt8]
        public let credentialID: [UInt8]
        public let publicKey: CBORValue
    }

    /// Authenticator data with attested credential data (an App Attest attestation).
    public init(attestation bytes: [UInt8]) throws(AttestationError) {
        try self.init(bytes: bytes, credential: true)
    }

    /// The 37 bytes of an assertion: Apple sets the AT flag in them, yet no credential data follows.
    public init(assertion bytes: [UInt8]) throws(AttestationError) {
        guard bytes.count == 37 else {
            throw AttestationError(
                .assertionInvalid, check: "authenticator_data", "assertion authenticator data must be 37 bytes")
        }
        try self.init(bytes: bytes, credential: false)
    }

    private init(bytes: [UInt8], credential: Bool) throws(AttestationError) {
        guard bytes.count >= 37 else {
            throw .invalid("authenticator_data", "the authenticator data is shorter than 37 bytes")
        }
        self.bytes = bytes
        rpIDHash = Array(bytes[0..<32])
        flags = bytes[32]
        counter = bytes[33..<37].reduce(0) { $0 << 8 | UInt32($1) }
        guard credential else {
            self.credential = nil
            return
        }
        guard flags & 0x40 != 0, bytes.count >= 55 else {
            throw .invalid("authenticator_data", "the attested credential data is missing")
        }
        let aaguid = Array(bytes[37..<53])
        let idLength = Int(bytes[53]) << 8 | Int(bytes[54])
        guard bytes.count >= 55 + idLength else {
            throw .invalid("authenticator_data", "the credential id runs past the authenticator data")
        }
        let credentialID = Array(bytes[55..<(55 + idLength)])
        var reader = CBORReader(bytes, offset: 55 + idLength)
        let publicKey: CBORValue
        do throws(CBORError) {
            publicKey = try reader.readItem()
            guard publicKey.isMap else {
                throw CBORError(offset: 55 + idLength, reason: "the credential public key is not a map")
            }
            if !reader.isAtEnd {
                guard try reader.readItem().isMap, reader.isAtEnd else {
                    throw CBORError(offset: reader.offset, reason: "data after the credential key is not one map")
                }
            }
        } catch {
            throw .invalid("authenticator_data", error.description)
        }
        self.credential = AttestedCredential(aaguid: aaguid, credentialID: credentialID, publicKey: publicKey)
    }
}

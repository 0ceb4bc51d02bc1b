import Crypto
import Foundation
import LatchkeyProtocol
import Testing

/// RFC 9421 Appendix B.2.4: the test response signed with `ecdsa-p256-sha256` by `test-key-ecc-p256` (B.1.3).
@Suite struct RFC9421VectorTests {
    static let publicKeyPEM = """
        -----BEGIN PUBLIC KEY-----
        MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEqIVYZVLCrPZHGHjP17CTW0/+D9Lf
        w0EkjqF7xB4FivAxzic30tMM4GF+hR6Dxh71Z50VGGdldkkDXZCnTNnoXQ==
        -----END PUBLIC KEY-----
        """
    /// The test response body of B.2 and its headers.
    static let body = Data(#"{"message": "good dog"}"#.utf8)
    static let expectedBase = """
        "@status": 200
        "content-type": application/json
        "content-digest": sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:
        "content-length": 23
        "@signature-params": ("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256"
        """
    static let signatureInput =
        #"sig-b24=("@status" "content-type" "content-digest" "content-length");created=1618884473;keyid="test-key-ecc-p256""#
    static let signature =
        "sig-b24=:wNmSUAhwb5LxtOtOpNa6W5xj067m5hFrj0XQ4fvpaCLx0NKocgPquLgyahnzDnDAUy5eCdlYUEkLIj+32oiasw==:"

    var response: HTTPMessageParts {
        HTTPMessageParts(
            status: 200,
            fields: [
                "content-type": "application/json", "content-digest": ContentDigest.sha512(Self.body),
                "content-length": "23",
            ])
    }

    @Test func theContentDigestMatchesTheRFC() {
        #expect(
            ContentDigest.sha512(Self.body)
                == "sha-512=:mEWXIS7MaLRuGgxOBdODa3xqM1XdEvxoYhvlCFJ41QJgJc4GTsPp29l5oGX69wWdXymyU0rjJuahq4l5aGgfLQ==:")
    }

    @Test func theSignatureBaseMatchesByteForByte() throws {
        let parameters = SignatureParameters(
            components: ["@status", "content-type", "content-digest", "content-length"], created: 1_618_884_473,
            keyID: "test-key-ecc-p256")
        let base = try SignatureBase.build(response, parameters: parameters)
        #expect(Array(base.utf8) == Array(Self.expectedBase.utf8))
    }

    @Test func theRFCSignatureVerifiesAfterParsingTheHeaders() throws {
        let received = try ReceivedSignature.parse(
            signatureInput: Self.signatureInput, signature: Self.signature, label: "sig-b24")
        #expect(received.parameters.keyID == "test-key-ecc-p256")
        let base = try SignatureBase.build(
            response, components: received.parameters.components, signatureParams: received.signatureInput)
        #expect(base == Self.expectedBase)
        let key = SignatureVerificationKey.p256(try P256.Signing.PublicKey(pemRepresentation: Self.publicKeyPEM))
        #expect(key.isValid(signature: received.signature, base: base))
        // One changed byte of the base, or of the signature, and it no longer verifies.
        #expect(!key.isValid(signature: received.signature, base: base.replacingOccurrences(of: "200", with: "201")))
        var tampered = received.signature
        tampered[5] ^= 1
        #expect(!key.isValid(signature: tampered, base: base))
    }

    @Test func otherLabelsAreIgnoredAndAMissingLabelIsMissing() throws {
        #expect(throws: ReceivedSignature.Problem.missing) {
            _ = try ReceivedSignature.parse(signatureInput: Self.signatureInput, signature: Self.signature)
        }
        #expect(throws: ReceivedSignature.Problem.missing) {
            _ = try ReceivedSignature.parse(signatureInput: nil, signature: nil)
        }
        let both = try ReceivedSignature.parse(
            signatureInput: Self.signatureInput + ", sig1=(\"@method\");created=1",
            signature: Self.signature + ", sig1=:AAAA:")
        #expect(both.parameters.components == ["@method"])
    }

    @Test func aRequestSignedHereVerifiesWithItsKey() throws {
        struct P256Signer: MessageSigner {
            let key = P256.Signing.PrivateKey()
            var algorithm: SignatureAlgorithm { .ecdsaP256SHA256 }
            func sign(base: String) throws -> Data { try key.signature(for: Data(base.utf8)).rawRepresentation }
        }
        let signer = P256Signer()
        let body = Data(#"{"amount":"1.00"}"#.utf8)
        let headers = try RequestSigner.headers(
            method: "POST", target: "/v1/transfers", body: body, nonce: "n-1", keyID: "dev-1", signer: signer,
            created: Date(timeIntervalSince1970: 1_700_000_000))
        let fields = Dictionary(uniqueKeysWithValues: headers.map { ($0.0.lowercased(), $0.1) })
        #expect(fields["content-digest"] == ContentDigest.sha256(body))
        #expect(
            fields["signature-input"]
                == #"sig1=("@method" "@path" "@query" "content-digest");created=1700000000;nonce="n-1";keyid="dev-1";alg="ecdsa-p256-sha256""#
        )
        let received = try ReceivedSignature.parse(
            signatureInput: fields["signature-input"], signature: fields["signature"])
        let base = try SignatureBase.build(
            HTTPMessageParts(method: "POST", target: "/v1/transfers", fields: fields),
            components: received.parameters.components, signatureParams: received.signatureInput)
        #expect(
            base.hasPrefix("\"@method\": POST\n\"@path\": /v1/transfers\n\"@query\": ?\n\"content-digest\": sha-256=:"))
        #expect(SignatureVerificationKey.p256(signer.key.publicKey).isValid(signature: received.signature, base: base))
        #expect(received.signature.count == 64)
    }

    @Test func moneyIsParsedWithoutFloats() {
        #expect(Money.cents("12.34") == 1234)
        #expect(Money.cents("12.3") == 1230)
        #expect(Money.cents("12") == 1200)
        for bad in ["-1", "1e3", "1.234", "", ".5", "1.", " 1", "0x10", "１２"] {
            #expect(Money.cents(bad) == nil, "\(bad)")
        }
        #expect(Money.format(98_766) == "987.66")
        #expect(Money.format(5) == "0.05")
    }
}

@Suite struct SignatureInputRobustnessTests {
    /// RFC 9651 dates (`@…`) and display strings (`%"…"`) in a signature's parameters are refused as malformed.
    /// Found by fuzz-signature: the RFC 8941 view of swift-http-structured-headers traps on them (a `try!`), which
    /// would have ended the server process from one request.
    @Test(arguments: [
        #"sig1=("@method" "@path");created=@1070000000;nonce="n";keyid="d";alg="ecdsa-p256-sha256""#,
        #"sig1=("@method" "@path");created=1;nonce="n";keyid="d";alg=%"ecdsa-p256-sha256""#,
        #"sig1=("@method";x=@1 "@path");created=1;nonce="n";keyid="d";alg="ecdsa-p256-sha256""#,
    ])
    func newerStructuredFieldTypesAreMalformedNotFatal(_ input: String) {
        #expect(throws: ReceivedSignature.Problem.self) {
            try ReceivedSignature.parse(signatureInput: input, signature: "sig1=:AAAA:")
        }
    }

    @Test func aDateInAContentDigestIsRefused() {
        #expect(!ContentDigest.matchesSHA256(header: "sha-256=@1", body: Data()))
    }
}

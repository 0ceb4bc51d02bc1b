import Foundation
import LatchkeyProtocol
import Testing

@Test func errorResponseHasTheContractShape() throws {
    let body = ErrorResponse(error: ErrorCode.csrSignatureInvalid.rawValue, message: "bad")
    let json = try JSONSerialization.jsonObject(with: JSONEncoder().encode(body)) as? [String: String]
    #expect(json == ["error": "csr_signature_invalid", "message": "bad"])
}

@Test func errorCodesAreTheSpecStrings() {
    let codes = Set(ErrorCode.allCases.map(\.rawValue))
    for code in [
        "invalid_credentials", "csr_invalid", "csr_signature_invalid", "csr_key_unsupported", "code_invalid",
        "enrollment_expired", "enrollment_locked", "enrollment_used", "certificate_unknown", "certificate_revoked",
        "certificate_expired", "device_revoked", "rate_limited", "body_too_large", "signature_missing",
        "signature_invalid", "nonce_invalid", "nonce_reused", "digest_mismatch",
    ] {
        #expect(codes.contains(code), "missing \(code)")
    }
}

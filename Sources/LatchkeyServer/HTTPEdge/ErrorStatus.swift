import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyPKI
import LatchkeyProtocol
import LatchkeyStore

/// The HTTP edge's one table from error code to status.
extension ErrorCode {
    public var httpStatus: HTTPResponse.Status {
        switch self {
        case .badRequest, .csrInvalid, .csrSignatureInvalid, .csrKeyUnsupported, .currencyMismatch,
            .attestationInvalid, .attestationUnsupported:
            .badRequest
        case .invalidCredentials, .codeInvalid, .certificateUnknown, .certificateRevoked, .certificateExpired,
            .deviceRevoked, .signatureMissing, .signatureInvalid, .nonceInvalid, .nonceReused, .digestMismatch,
            .assertionInvalid:
            .unauthorized
        case .accountNotOwned, .attestationRequired: .forbidden
        case .notFound, .accountNotFound: .notFound
        case .methodNotAllowed: .methodNotAllowed
        case .enrollmentUsed, .csrKeyInUse, .attestationReused: .conflict
        case .enrollmentExpired: .gone
        case .bodyTooLarge: .contentTooLarge
        case .insufficientFunds, .ibanInvalid, .idempotencyKeyReused: .unprocessableContent
        case .enrollmentLocked, .accountLocked: HTTPResponse.Status(code: 423, reasonPhrase: "Locked")
        case .rateLimited: .tooManyRequests
        case .internalError: .internalServerError
        case .oobDeliveryFailed: .badGateway
        case .serviceUnavailable, .attestationUnavailable: .serviceUnavailable
        }
    }
}

extension Refusal {
    /// The refusal that a PKI error means for a client.
    init(_ error: PKIError) {
        switch error.code {
        case .csrInvalid: self.init(.csrInvalid, error.message)
        case .csrSignatureInvalid: self.init(.csrSignatureInvalid, error.message)
        case .csrKeyUnsupported: self.init(.csrKeyUnsupported, error.message)
        case .certificateExpired: self.init(.certificateExpired, error.message)
        case .certificateUntrusted, .certificateNotYetValid, .certificateNotForClientAuth, .certificateIdentityMissing:
            self.init(.certificateUnknown, error.message)
        case .invalidArgument: self.init(.badRequest, error.message)
        default: self = .internalError
        }
    }

    /// The refusal that a store error means for a client.
    init(_ error: StoreError) {
        switch error.code {
        case .enrollmentUsed: self.init(.enrollmentUsed, "this enrollment was already completed")
        case .enrollmentExpired: self.init(.enrollmentExpired, "this enrollment expired; start a new one")
        case .enrollmentLocked:
            self.init(.enrollmentLocked, "this enrollment is locked after too many wrong codes; start a new one")
        case .deviceRevoked: self.init(.deviceRevoked, "this device is revoked")
        case .notFound: self = .notFound()
        case .accountNotOwned: self.init(.accountNotOwned, error.message)
        case .currencyMismatch: self.init(.currencyMismatch, error.message)
        case .insufficientFunds: self.init(.insufficientFunds, error.message)
        case .accountNotFound: self.init(.accountNotFound, error.message)
        case .keyInUse: self.init(.csrKeyInUse, error.message)
        case .idempotencyKeyReused: self.init(.idempotencyKeyReused, error.message)
        case .attestationReused:
            self.init(.attestationReused, "this App Attest key was already enrolled; attest a new key")
        case .nonceReused: self.init(.nonceReused, "this nonce was already used")
        case .assertionCounterStale:
            self.init(.assertionInvalid, "counter: the assertion counter is not greater than the last one seen")
        case .databaseUnavailable, .conflict: self = .serviceUnavailable
        default: self = .internalError
        }
    }

    /// Maps any error to the refusal a client sees; anything unknown is an internal error.
    static func from(_ error: any Error) -> Refusal {
        switch error {
        case let refusal as Refusal: return refusal
        case let pki as PKIError: return Refusal(pki)
        case let store as StoreError: return Refusal(store)
        default: return .internalError
        }
    }
}

/// `{"error": CODE, "message": TEXT, "request_id": ID}` with the code's status and `Retry-After` where it applies.
///
/// Guarantees: the message is meant for the client and never carries secrets; internal failures become a generic
/// 500 `internal_error` whose cause goes to the log only.
extension Refusal: HTTPResponseError {
    public var status: HTTPResponse.Status { code.httpStatus }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var body: [String: String] = ["error": code.rawValue, "message": message]
        if let context = context as? LatchkeyRequestContext, let id = context.requestID { body["request_id"] = id }
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        if let retryAfter { fields[.retryAfter] = String(retryAfter) }
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension HTTPField.Name {
    /// The request id header set by ``EdgeMiddleware``.
    static let requestID = HTTPField.Name("X-Request-ID")!
}

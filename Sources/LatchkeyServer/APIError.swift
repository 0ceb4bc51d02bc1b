import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyPKI
import LatchkeyProtocol
import LatchkeyStore

/// An error the HTTP edge turns into `{"error": CODE, "message": TEXT, "request_id": ID}` with its status.
///
/// Guarantees: the message is meant for the client and never carries secrets; internal failures become a generic
/// 500 `internal_error` whose cause goes to the log only.
public struct APIError: Error, Sendable, Equatable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    /// Extra response headers (`Retry-After` for 429).
    public let headers: [String: String]

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, headers: [String: String] = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public init(_ status: HTTPResponse.Status, _ code: ErrorCode, _ message: String, headers: [String: String] = [:]) {
        self.init(status, code.rawValue, message, headers: headers)
    }

    /// 423 Locked (RFC 4918), which HTTPTypes does not name.
    static let locked = HTTPResponse.Status(code: 423, reasonPhrase: "Locked")

    static func badRequest(_ message: String) -> APIError { APIError(.badRequest, "bad_request", message) }
    static func notFound(_ message: String = "no such resource") -> APIError {
        APIError(.notFound, "not_found", message)
    }
    /// 503 with `Retry-After`: the database failed or is busy; nothing was done, the request may be repeated.
    static let serviceUnavailable = APIError(
        .serviceUnavailable, .serviceUnavailable, "the service is briefly unavailable; retry shortly",
        headers: ["Retry-After": "5"])
    static let internalError = APIError(
        .internalServerError, "internal_error", "the server could not complete the request")

    /// The API form of a PKI refusal.
    init(_ error: PKIError) {
        switch error.code {
        case .csrInvalid: self.init(.badRequest, .csrInvalid, error.message)
        case .csrSignatureInvalid: self.init(.badRequest, .csrSignatureInvalid, error.message)
        case .csrKeyUnsupported: self.init(.badRequest, .csrKeyUnsupported, error.message)
        case .certificateExpired: self.init(.unauthorized, .certificateExpired, error.message)
        case .certificateUntrusted, .certificateNotYetValid, .certificateNotForClientAuth, .certificateIdentityMissing:
            self.init(.unauthorized, .certificateUnknown, error.message)
        case .invalidArgument: self.init(.badRequest, "bad_request", error.message)
        default: self = .internalError
        }
    }

    /// The API form of a store refusal.
    init(_ error: StoreError) {
        switch error.code {
        case .enrollmentUsed: self.init(.conflict, .enrollmentUsed, "this enrollment was already completed")
        case .enrollmentExpired: self.init(.gone, .enrollmentExpired, "this enrollment expired; start a new one")
        case .enrollmentLocked:
            self.init(
                APIError.locked, .enrollmentLocked,
                "this enrollment is locked after too many wrong codes; start a new one")
        case .deviceRevoked: self.init(.unauthorized, .deviceRevoked, "this device is revoked")
        case .notFound: self = .notFound()
        case .accountNotOwned: self.init(.forbidden, "account_not_owned", error.message)
        case .currencyMismatch: self.init(.badRequest, "currency_mismatch", error.message)
        case .insufficientFunds: self.init(.unprocessableContent, "insufficient_funds", error.message)
        case .accountNotFound: self.init(.notFound, .accountNotFound, error.message)
        case .keyInUse: self.init(.conflict, .csrKeyInUse, error.message)
        case .idempotencyKeyReused: self.init(.unprocessableContent, .idempotencyKeyReused, error.message)
        case .databaseUnavailable, .conflict: self = .serviceUnavailable
        default: self = .internalError
        }
    }

    /// Maps any error to its API form; anything unknown is an internal error.
    static func from(_ error: any Error) -> APIError {
        switch error {
        case let api as APIError: return api
        case let pki as PKIError: return APIError(pki)
        case let store as StoreError: return APIError(store)
        default: return .internalError
        }
    }
}

extension APIError: HTTPResponseError {
    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var body: [String: String] = ["error": code, "message": message]
        if let context = context as? LatchkeyRequestContext, let id = context.requestID { body["request_id"] = id }
        let data = try JSONSerialization.data(withJSONObject: body, options: [.sortedKeys])
        var fields = HTTPFields()
        fields[.contentType] = "application/json"
        for (name, value) in headers {
            if let field = HTTPField.Name(name) { fields[field] = value }
        }
        return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

extension HTTPField.Name {
    /// The request id header set by ``RequestIDMiddleware``.
    static let requestID = HTTPField.Name("X-Request-ID")!
}

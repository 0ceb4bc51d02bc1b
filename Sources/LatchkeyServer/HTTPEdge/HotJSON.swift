import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyProtocol
import NIOCore

/// JSON of the hottest answer, `GET /v1/me`, written by hand: Foundation's `JSONEncoder` was 6% of the server's CPU
/// on keep-alive `/v1/me` (perf, issue 17). Same object, keys sorted like ``JSONResponse``.
struct MeJSONResponse: ResponseGenerator {
    let body: MeResponse

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(string: Self.encode(body))))
    }

    static func encode(_ me: MeResponse) -> String {
        var out = "{"
        out.reserveCapacity(256)
        if let assurance = me.assurance {
            out += "\"assurance\":"
            JSONLogHandler.appendString(assurance, to: &out)
            out += ","
        }
        out += "\"certificate_serial\":"
        JSONLogHandler.appendString(me.certificateSerial, to: &out)
        out += ",\"device_id\":"
        JSONLogHandler.appendString(me.deviceID, to: &out)
        out += ",\"not_after\":"
        JSONLogHandler.appendString(me.notAfter, to: &out)
        out += ",\"user_id\":"
        JSONLogHandler.appendString(me.userID, to: &out)
        out += ",\"username\":"
        JSONLogHandler.appendString(me.username, to: &out)
        out += "}"
        return out
    }
}

/// A JSON answer fixed when the server starts (`GET /v1/health`): its bytes are encoded once, not per request.
struct FixedJSONResponse: ResponseGenerator {
    let body: ByteBuffer

    /// `{"status":"ok"}`, as ``JSONResponse`` would write it.
    static let health = FixedJSONResponse(body: ByteBuffer(string: #"{"status":"ok"}"#))

    func response(from request: Request, context: some RequestContext) throws -> Response {
        Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
    }
}

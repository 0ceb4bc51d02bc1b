import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyPKI
import LatchkeyProtocol
import NIOCore

/// JSON responses with a status.
struct JSONResponse<Body: Encodable & Sendable>: ResponseGenerator {
    let status: HTTPResponse.Status
    let body: Body

    init(_ status: HTTPResponse.Status, _ body: Body) {
        self.status = status
        self.body = body
    }

    init(_ body: Body) {
        self.init(.ok, body)
    }

    func response(from request: Request, context: some RequestContext) throws -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let data = try encoder.encode(body)
        return Response(
            status: status, headers: [.contentType: "application/json"],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// A CRL in DER (`application/pkix-crl`, RFC 5280 §4.2.1.13).
enum DERResponse {
    static func crl(_ der: [UInt8]) -> Response {
        Response(
            status: .ok, headers: [.contentType: "application/pkix-crl"], body: .init(byteBuffer: ByteBuffer(bytes: der)))
    }
}

/// The routes of the enrollment listener (TLS, server authentication only). Handlers decode, call, encode.
enum EnrollmentRoutes {
    static func router(
        enrollment: EnrollmentAuthority, caChainPEM: String, revocationLists: RevocationLists, clock: ServerClock,
        metrics: ServerMetrics
    ) -> Router<LatchkeyRequestContext> {
        let router = Router(context: LatchkeyRequestContext.self)
        router.add(middleware: EdgeMiddleware(listener: .enroll, metrics: metrics))
        router.get("/v1/health") { _, _ in FixedJSONResponse.health }
        router.get("/v1/ca") { _, _ in
            Response(
                status: .ok, headers: [.contentType: "application/pem-certificate-chain"],
                body: .init(byteBuffer: ByteBuffer(string: caChainPEM)))
        }
        router.get("/v1/crl") { _, _ in
            DERResponse.crl(try await revocationLists.issuing(now: clock.now()))
        }
        router.get("/v1/crl/root") { _, _ in DERResponse.crl(try revocationLists.root(now: clock.now())) }
        router.post("/v1/enrollments") { request, context in
            let body = try await BodyLimit.collect(request)
            let start = try StrictJSON.body(EnrollmentStartRequest.self, from: body)
            return JSONResponse(
                .created, try await enrollment.start(start, clientAddress: context.clientAddress, now: clock.now()))
        }
        router.post("/v1/enrollments/:id/complete") { request, context in
            let id = try context.parameters.require("id")
            let body = try await BodyLimit.collect(request)
            let complete = try StrictJSON.body(EnrollmentCompleteRequest.self, from: body)
            return JSONResponse(.created, try await enrollment.complete(enrollmentID: id, complete, now: clock.now()))
        }
        return router
    }
}

/// The routes of the API listener (mutual TLS). Every route runs after ``DeviceIdentityMiddleware``.
///
/// The routes of ``SignedEndpoints`` are registered in a group of their own behind ``SignatureMiddleware``: whether a
/// request needs a signature follows from the route the router matched, not from the raw path, so `//v1/devices/x`
/// or `/v1/transfers/` (which the router matches to the same routes) are signed routes too. Each signed handler also
/// refuses to run without verified evidence in its context.
enum APIRoutes {
    static func router(
        devices: DeviceAuthority, bank: DemoBank, identity: DeviceIdentityMiddleware, signatures: SignatureMiddleware,
        clock: ServerClock, metrics: ServerMetrics
    ) -> Router<LatchkeyRequestContext> {
        let router = Router(context: LatchkeyRequestContext.self)
        router.add(middleware: EdgeMiddleware(listener: .api, metrics: metrics))
        router.add(middleware: identity)
        router.get("/v1/me") { _, context in MeJSONResponse(body: try await devices.me(try context.requireDevice())) }
        router.post("/v1/certificates/renew") { request, context in
            let body = try await BodyLimit.collect(request)
            let renew = try StrictJSON.body(RenewRequest.self, from: body)
            return JSONResponse(.created, try await devices.renew(try context.requireDevice(), renew, now: clock.now()))
        }
        router.get("/v1/devices") { _, context in JSONResponse(try await devices.devices(try context.requireDevice())) }
        router.get("/v1/nonce") { _, context in
            JSONResponse(devices.nonce(try context.requireDevice(), now: clock.now()))
        }
        router.get("/v1/accounts") { _, context in JSONResponse(try await bank.accounts(try context.requireDevice())) }

        let signed = router.group().add(middleware: signatures)
        signed.delete(RouterPath(SignedEndpoints.revokeDevice.hummingbirdPath)) { _, context in
            let evidence = try context.requireSignature()
            if try await devices.revoke(
                try context.requireDevice(), deviceID: try context.parameters.require("id"), evidence: evidence,
                replayGuard: try context.requireReplayGuard(), connection: context.channel, now: clock.now())
            {
                metrics.revoked()
            }
            return Response(status: .noContent)
        }
        signed.post(RouterPath(SignedEndpoints.transfer.hummingbirdPath)) { request, context in
            let evidence = try context.requireSignature()
            let body = try await BodyLimit.collect(request)
            let transfer = try StrictJSON.body(TransferRequest.self, from: body)
            let outcome = try await bank.transfer(
                try context.requireDevice(), transfer, evidence: evidence, replayGuard: try context.requireReplayGuard(),
                idempotencyKey: try IdempotencyKey.from(request.headers), now: clock.now())
            return JSONResponse(.created, outcome.response)
        }
        return router
    }
}

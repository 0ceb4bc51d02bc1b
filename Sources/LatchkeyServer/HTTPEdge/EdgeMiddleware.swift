import Foundation
import HTTPTypes
import Hummingbird
import LatchkeyProtocol
import Logging

/// The HTTP edge of both listeners: gives each request an id, logs one line per request (method, path, status,
/// duration; never bodies or headers), and turns every error into the JSON error body with its status.
struct EdgeMiddleware: RouterMiddleware {
    typealias Context = LatchkeyRequestContext
    let listener: ServerMetrics.Listener
    let metrics: ServerMetrics

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    ) async throws -> Response {
        var context = context
        let requestID = context.id
        context.requestID = requestID
        let started = ContinuousClock.now
        var response: Response
        do {
            response = try await next(request, context)
        } catch {
            let refusal = Self.refusal(for: error)
            metrics.refusal(listener: listener, code: refusal.code)
            if refusal.status == .internalServerError {
                context.logger.error("request failed", metadata: ["error": "\(String(reflecting: type(of: error)))"])
            }
            response = try refusal.response(from: request, context: context)
        }
        response.headers[.requestID] = requestID
        let elapsed = ContinuousClock.now - started
        // The matched route template (or NotFound): a closed set, never the raw path a client chose.
        let route = context.endpointPath ?? "NotFound"
        metrics.request(listener: listener, route: route, status: response.status.code, duration: elapsed)
        // Built only when the line is logged (the metadata argument is an autoclosure).
        context.logger.info(
            "request", metadata: Self.requestMetadata(request, response, context, route: route, elapsed: elapsed))
        return response
    }

    static func requestMetadata(
        _ request: Request, _ response: Response, _ context: Context, route: String, elapsed: Duration
    ) -> Logger.Metadata {
        var metadata: Logger.Metadata = [
            "method": "\(request.method)", "path": "\(request.uri.path)", "status": "\(response.status.code)",
            "ms": "\(milliseconds(elapsed))", "route": "\(route)",
            // The client's address: the one a trusted proxy's PROXY header named, or the connection's.
            "client": "\(context.clientAddress)",
        ]
        if let device = context.facts.deviceID { metadata["device"] = "\(device)" }
        return metadata
    }

        static func milliseconds(_ duration: Duration) -> Int64 {
        duration.components.seconds * 1000 + duration.components.attoseconds / 1_000_000_000_000_000
    }

    static func refusal(for error: any Error) -> Refusal {
        if let http = error as? HTTPError {
            switch http.status {
            case .notFound: return .notFound("no such endpoint")
            case .methodNotAllowed:
                return Refusal(.methodNotAllowed, "this method is not allowed here")
            case .contentTooLarge:
                return Refusal(.bodyTooLarge, "the request body is larger than 1 MiB")
            case .badRequest: return .badRequest("the request is malformed")
            default:
                return http.status.code >= 500 ? .internalError : .badRequest(http.status.reasonPhrase)
            }
        }
        return Refusal.from(error)
    }
}

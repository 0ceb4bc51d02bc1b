import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// The HTTP client the webhook and Twilio sinks share (AsyncHTTPClient), with timeouts.
public final class OutOfBandHTTPClient: Sendable {
    let client: HTTPClient

    public init() {
        var configuration = HTTPClient.Configuration()
        configuration.timeout = .init(connect: .seconds(2), read: .seconds(10))
        configuration.redirectConfiguration = .disallow
        self.client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    public func shutdown() async throws {
        try await client.shutdown()
    }

    /// POSTs `body` and returns the status and at most 64 KiB of the answer.
    func post(url: String, headers: [(String, String)], body: Data) async throws -> (status: Int, body: String) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        let response = try await client.execute(request, timeout: .seconds(15))
        let answer = try await response.body.collect(upTo: 64 * 1024)
        return (Int(response.status.code), String(buffer: answer))
    }
}

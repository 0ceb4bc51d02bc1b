import Foundation
import LatchkeyProtocol
import NIOCore

extension StrictJSON {
    /// A request body decoded strictly; any problem is a 400 `bad_request` naming it, never a 500.
    static func body<T: StrictRequestBody>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        do {
            return try decode(type, from: Data(buffer.readableBytesView))
        } catch {
            throw Refusal.badRequest(error.message)
        }
    }
}

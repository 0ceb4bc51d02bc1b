import Crypto
import Foundation

/// The audit trail's hash chain: each event's hash covers its fields and the previous event's hash.
///
/// Guarantees: editing any field of a stored event, deleting an event (a gap or a missing tail), or reordering
/// events is reported with the sequence number of the first broken link.
public enum AuditChain {
    /// The hash before the first event.
    public static let genesisHash = String(repeating: "0", count: 64)

    /// The hash of an event at `sequence` following `previousHash`.
    public static func hash(sequence: Int64, entry: AuditEntry, previousHash: String) -> String {
        let millis = Int64((entry.time.timeIntervalSince1970 * 1000).rounded())
        let fields = [
            String(sequence), String(millis), entry.actor, entry.action, entry.subject, entry.detailsJSON, previousHash,
        ]
        // Length-prefixed fields: no value can be shifted into its neighbour.
        var canonical = Data()
        for field in fields {
            let bytes = Data(field.utf8)
            canonical.append(contentsOf: withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { Array($0) })
            canonical.append(bytes)
        }
        return SHA256.hash(data: canonical).map { String(format: "%02x", $0) }.joined()
    }

    /// A broken link: the first sequence number where the chain stops verifying, and why.
    public struct Break: Error, Sendable, Equatable, CustomStringConvertible {
        public let sequence: Int64
        public let reason: String
        public var description: String { "audit chain broken at sequence \(sequence): \(reason)" }

        public init(sequence: Int64, reason: String) {
            self.sequence = sequence
            self.reason = reason
        }
    }

    /// Walks the events in order; returns the first break, or nil if the whole chain verifies up to the head.
    public static func verify(events: [AuditRecord], headSequence: Int64, headHash: String) -> Break? {
        var expectedSequence: Int64 = 1
        var previousHash = genesisHash
        for event in events {
            guard event.sequence == expectedSequence else {
                return Break(sequence: expectedSequence, reason: "event \(expectedSequence) is missing")
            }
            guard event.previousHash == previousHash else {
                return Break(sequence: event.sequence, reason: "its previous hash does not match the event before it")
            }
            guard hash(sequence: event.sequence, entry: event.entry, previousHash: event.previousHash) == event.hash
            else {
                return Break(sequence: event.sequence, reason: "its content does not match its hash (edited)")
            }
            previousHash = event.hash
            expectedSequence += 1
        }
        if headSequence != expectedSequence - 1 || headHash != previousHash {
            return Break(
                sequence: expectedSequence,
                reason: "the chain ends before the recorded head \(headSequence) (events removed)")
        }
        return nil
    }
}

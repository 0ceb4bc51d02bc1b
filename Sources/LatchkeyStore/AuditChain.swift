import Crypto
import Foundation
import LatchkeyPKI

/// The audit trail's chain: each event's hash is an HMAC-SHA256, under a key kept outside the database, over its
/// fields and the previous event's hash.
///
/// Guarantees: without the key, nobody can write an event, edit one, delete one from the middle or re-chain the
/// events after it so that ``verify(_:key:checkpoints:)`` passes; with checkpoints kept outside the database, removing
/// the newest events (and moving the stored head back) is reported too. Every broken event is reported, not only the
/// first. Events written before the chain was keyed (up to `legacyUntil`) carry plain SHA-256 hashes; the first keyed
/// event covers the last of them, so they cannot be changed unseen either once a keyed event follows.
public enum AuditChain {
    /// The hash before the first event.
    public static let genesisHash = String(repeating: "0", count: 64)
    /// The migration that keyed the chain; events before it keep plain hashes.
    static let keyedFromMigration: Int64 = 4
    /// The keyed event that follows the last plain one and records where they end.
    public static let anchorAction = "audit.keyed"

    static func anchorDetails(legacyUntil: Int64) -> String { "{\"legacy_until\":\(legacyUntil)}" }

    /// The keyed hash of an event at `sequence` following `previousHash`.
    public static func hash(sequence: Int64, entry: AuditEntry, previousHash: String, key: SymmetricKey) -> String {
        let mac = HMAC<SHA256>.authenticationCode(
            for: canonical(sequence: sequence, entry: entry, previousHash: previousHash), using: key)
        return Hex.lowercase(mac)
    }

    /// The plain SHA-256 of events written before the chain was keyed.
    static func legacyHash(sequence: Int64, entry: AuditEntry, previousHash: String) -> String {
        Hex.lowercase(SHA256.hash(data: canonical(sequence: sequence, entry: entry, previousHash: previousHash)))
    }

    /// Length-prefixed fields: no value can be shifted into its neighbour.
    private static func canonical(sequence: Int64, entry: AuditEntry, previousHash: String) -> Data {
        let millis = Int64((entry.time.timeIntervalSince1970 * 1000).rounded())
        let fields = [
            String(sequence), String(millis), entry.actor, entry.action, entry.subject, entry.detailsJSON, previousHash,
        ]
        var canonical = Data()
        for field in fields {
            let bytes = Data(field.utf8)
            canonical.append(contentsOf: withUnsafeBytes(of: UInt32(bytes.count).bigEndian) { Array($0) })
            canonical.append(bytes)
        }
        return canonical
    }

    /// A broken link: the sequence number of an event that does not verify, and why.
    public struct Break: Error, Sendable, Equatable, CustomStringConvertible {
        public let sequence: Int64
        public let reason: String
        public var description: String { "audit chain broken at sequence \(sequence): \(reason)" }

        public init(sequence: Int64, reason: String) {
            self.sequence = sequence
            self.reason = reason
        }
    }

    /// A head seen earlier and kept outside the database: the chain must still hold this event with this hash.
    public struct Checkpoint: Codable, Sendable, Equatable {
        public let sequence: Int64
        public let hash: String
        public let time: String?

        public init(sequence: Int64, hash: String, time: String? = nil) {
            self.sequence = sequence
            self.hash = hash
            self.time = time
        }
    }

    /// Walks every event in order and returns every break (an empty list when the whole chain verifies up to the
    /// head and contains every checkpoint).
    public static func verify(_ trail: AuditTrail, key: SymmetricKey, checkpoints: [Checkpoint] = []) -> [Break] {
        var breaks: [Break] = []
        var expectedSequence: Int64 = 1
        var previousHash = genesisHash
        var hashes: [Int64: String] = [:]
        for event in trail.events {
            if event.sequence != expectedSequence {
                let missing =
                    event.sequence > expectedSequence
                    ? "events \(expectedSequence) to \(event.sequence - 1) are missing" : "events are out of order"
                breaks.append(Break(sequence: expectedSequence, reason: missing))
            }
            if event.previousHash != previousHash {
                breaks.append(
                    Break(sequence: event.sequence, reason: "its previous hash does not match the event before it"))
            }
            let expected =
                event.sequence <= trail.legacyUntil
                ? legacyHash(sequence: event.sequence, entry: event.entry, previousHash: event.previousHash)
                : hash(sequence: event.sequence, entry: event.entry, previousHash: event.previousHash, key: key)
            if expected != event.hash {
                breaks.append(
                    Break(
                        sequence: event.sequence,
                        reason: "its content does not match its keyed hash (edited, or written without the key)"))
            }
            hashes[event.sequence] = event.hash
            previousHash = event.hash
            expectedSequence = event.sequence + 1
        }
        if trail.legacyUntil > 0 {
            // The boundary lives in the database; the keyed event right after it pins it.
            let anchor = trail.events.first { $0.sequence == trail.legacyUntil + 1 }
            if anchor?.entry.action != anchorAction
                || anchor?.entry.detailsJSON != anchorDetails(legacyUntil: trail.legacyUntil)
            {
                breaks.append(
                    Break(
                        sequence: trail.legacyUntil + 1,
                        reason: "the end of the unkeyed events is not the one the keyed chain recorded (boundary moved)"))
            }
        }
        if trail.headSequence != expectedSequence - 1 || trail.headHash != previousHash {
            breaks.append(
                Break(
                    sequence: expectedSequence,
                    reason: "the chain does not end at the recorded head \(trail.headSequence) (events removed)"))
        }
        for checkpoint in checkpoints {
            guard let stored = hashes[checkpoint.sequence] else {
                breaks.append(
                    Break(
                        sequence: checkpoint.sequence,
                        reason: "the event of a checkpoint kept outside the database is missing (events removed)"))
                continue
            }
            if stored != checkpoint.hash {
                breaks.append(
                    Break(
                        sequence: checkpoint.sequence,
                        reason: "the event differs from a checkpoint kept outside the database (chain rewritten)"))
            }
        }
        return breaks.sorted { $0.sequence < $1.sequence }
    }
}

/// The audit trail as stored: its events in order, the head the store recorded, and the last event written before
/// the chain was keyed (0 when every event is keyed).
public struct AuditTrail: Sendable {
    public let events: [AuditRecord]
    public let headSequence: Int64
    public let headHash: String
    public let legacyUntil: Int64

    public init(events: [AuditRecord], headSequence: Int64, headHash: String, legacyUntil: Int64 = 0) {
        self.events = events
        self.headSequence = headSequence
        self.headHash = headHash
        self.legacyUntil = legacyUntil
    }
}

import AtRestDump
import AtRestIndex

/// Which revisions of a snapshot are live: for every key its last revision, unless
/// that is a tombstone (etcd's `mvcc/kvstore.go` `restore`, as `IndexWriter` replays
/// it), found without holding any key.
///
/// Every revision is recorded as a 96-bit fingerprint of its key (two SipHash-1-3
/// digests under this process's random seed) and its place in the read; sorting
/// them by fingerprint and place puts each key's revisions together, newest last.
/// That costs 16 bytes per revision while collecting (16 MB for a million) and one
/// bit per revision after. Two keys are mistaken for one only if their fingerprints
/// collide: about 2⁻⁵³ for four million keys, and the seed is not known to whoever
/// wrote the keys.
struct LiveRevisions {
    private var bits: [UInt64]
    /// Revisions in the read.
    let revisions: Int
    /// Live keys: set bits.
    let count: Int

    /// Whether the `sequence`-th revision of the read is live. A tombstone never is;
    /// a second read that disagrees with the first (the file changed) is refused.
    func isLive(_ sequence: Int, tombstone: Bool) throws -> Bool {
        guard sequence < revisions else { throw Changed() }
        let live = bits[sequence >> 6] & (1 << UInt64(sequence & 63)) != 0
        if live && tombstone { throw Changed() }
        return live
    }

    /// The second read delivered other revisions than the first.
    struct Changed: Error {}

    /// The first read's sink: fingerprints every revision and counts what is read,
    /// as `IndexWriter` would.
    struct Collector: DumpSink {
        private(set) var counts = IndexProvenance.Counts()
        private var fingerprints: [Fingerprint] = []
        /// Only keys are fingerprinted.
        var wantsValues: Bool { false }

        private struct Fingerprint {
            var high: UInt64
            var low: UInt32
            /// The place in the read, shifted left by one; the low bit marks a tombstone.
            var place: UInt32
            var sequence: Int { Int(place >> 1) }
            var tombstone: Bool { place & 1 != 0 }
        }

        mutating func live(_ entry: KeyValue) throws {
            throw StreamingAudit.NotSequential(reason: "a snapshot delivered a live entry")
        }

        mutating func history(_ revision: Revision, tombstone: Bool, _ entry: KeyValue) throws {
            guard fingerprints.count < Int(UInt32.max >> 1) else {
                throw StreamingAudit.NotSequential(reason: "more revisions than one read can number")
            }
            counts.entriesRead += 1
            counts.revisions += 1
            if tombstone { counts.tombstones += 1 }
            var high = Hasher(), low = Hasher()
            high.combine(0 as UInt8)
            low.combine(1 as UInt8)
            entry.key.withUnsafeBytes { key in
                high.combine(bytes: key)
                low.combine(bytes: key)
            }
            fingerprints.append(Fingerprint(high: UInt64(UInt(bitPattern: high.finalize())), low: UInt32(truncatingIfNeeded: low.finalize()),
                                            place: UInt32(fingerprints.count) << 1 | (tombstone ? 1 : 0)))
        }

        mutating func refused(_ refusal: Refusal) throws {
            counts.entriesRead += 1
            counts.refused[refusal.reason.rawValue, default: 0] += 1
        }

        /// The live revisions; the fingerprints are released.
        mutating func finish() -> LiveRevisions {
            var all = fingerprints
            fingerprints = []
            all.sort { ($0.high, $0.low, $0.place) < ($1.high, $1.low, $1.place) }
            var bits = [UInt64](repeating: 0, count: (all.count + 63) / 64)
            var count = 0
            for index in all.indices {
                let last = index + 1 == all.count || all[index + 1].high != all[index].high || all[index + 1].low != all[index].low
                guard last, !all[index].tombstone else { continue }
                let sequence = all[index].sequence
                bits[sequence >> 6] |= 1 << UInt64(sequence & 63)
                count += 1
            }
            return LiveRevisions(bits: bits, revisions: all.count, count: count)
        }
    }
}

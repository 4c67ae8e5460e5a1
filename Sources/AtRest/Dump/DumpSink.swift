/// Receives what a reader finds, in the order it finds it.
///
/// Readers never hold an export in memory: they push entries here as they parse
/// them, so memory stays bounded whatever the input size. The index writer is the
/// main sink; tests use collecting sinks.
public protocol DumpSink {
    /// A key as it is at the export's revision (JSON, fields, hex and plain exports).
    mutating func live(_ entry: KeyValue) throws

    /// One revision of a snapshot's `key` bucket, delivered in revision order.
    /// `tombstone` revisions carry only the key: they delete it.
    mutating func history(_ revision: Revision, tombstone: Bool, _ entry: KeyValue) throws

    /// An entry the reader saw but could not accept; it is counted, never dropped silently.
    mutating func refused(_ refusal: Refusal) throws

    /// Whether entries need their values. A sink that only counts keys (the first read of
    /// a snapshot's audit) says no, and readers that can then skip copying each value
    /// (still checking it as they would) deliver it empty.
    var wantsValues: Bool { get }
}

extension DumpSink {
    public var wantsValues: Bool { true }
}

/// An entry that was read but not accepted, with where and why.
public struct Refusal: Sendable, Hashable {
    /// Why entries are refused; the raw value is the stable name used in totals.
    public enum Reason: String, Sendable, Hashable, CaseIterable {
        /// A key appears twice across the documents of a paginated export.
        case duplicateKey = "duplicate-key"
        /// A snapshot `key` bucket entry whose value is not a `mvccpb.KeyValue`.
        case malformedKeyValue = "malformed-keyvalue"
        /// A JSON `kvs` element without a `key`.
        case missingKey = "missing-key"
    }

    public var reason: Reason
    /// The input file, as named on the command line.
    public var file: String
    /// Byte offset in the file (or page id for snapshots) where the entry starts.
    public var location: Location
    /// The key, when it could be read.
    public var key: [UInt8]?

    public init(reason: Reason, file: String, location: Location, key: [UInt8]? = nil) {
        self.reason = reason
        self.file = file
        self.location = location
        self.key = key
    }
}

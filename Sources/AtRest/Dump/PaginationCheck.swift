/// Whether an export holds every key of the range it claims to cover.
///
/// etcd reports `count` (keys in the requested range) and `more` (a `--limit`
/// cut the response) with every `etcdctl get` (`printer_json.go`,
/// `printer_fields.go`); an audit that silently works on a truncated export
/// would report "all encrypted" for keys it never saw.
public enum ExportCompleteness: Sendable, Hashable, CustomStringConvertible {
    /// Every key of the range was received (or the input is a whole database).
    case complete
    /// Keys are missing; `reason` says which page or count shows it.
    case incomplete(reason: String)
    /// The format carries no count (hex and plain `etcdctl get` output), so
    /// completeness cannot be checked either way.
    case unverifiable(reason: String)
    /// Recovered from a damaged snapshot (`--salvage`): some entries may be missing,
    /// and stale pages may add revisions a compaction had removed.
    case partial(reason: String)

    public var isComplete: Bool { self == .complete }

    public var description: String {
        switch self {
        case .complete: return "complete"
        case .incomplete(let reason): return "incomplete: \(reason)"
        case .unverifiable(let reason): return "unverifiable: \(reason)"
        case .partial(let reason): return "partial: \(reason)"
        }
    }
}

/// Decides whether the pages of a (possibly paginated) export add up.
///
/// A big export is taken page by page at a pinned revision, as etcd's own mirror
/// syncer does (`clientv3/mirror/syncer.go`): `etcdctl get <lastkey>\x00
/// --from-key --limit N --rev R -w json`. Each page's `count` is the number of
/// keys from its first key to the end of the range, so, with pages sorted by
/// first key, the set is complete iff every page `i` but the last has
/// `count_i == received_i + count_{i+1}`, and the last has `more` false and
/// `count == received`. A pure value type, so it is testable without files.
public struct PaginationCheck: Sendable, Hashable {
    /// What one document (page) said about itself.
    public struct Page: Sendable, Hashable {
        /// 1-based position of the page in read order (across all inputs), for messages.
        public var index: Int
        /// The smallest key of the page (the first one, for etcd's key-sorted pages); nil when empty.
        public var firstKey: [UInt8]?
        /// Keys received in the page (`len(kvs)`), refused ones included.
        public var received: Int64
        /// `more` as the page said it (absent = false).
        public var more: Bool
        /// `count` as the page said it; nil when absent (etcd omits a zero count).
        public var count: Int64?

        public init(index: Int, firstKey: [UInt8]?, received: Int64, more: Bool, count: Int64?) {
            self.index = index
            self.firstKey = firstKey
            self.received = received
            self.more = more
            self.count = count
        }
    }

    public var pages: [Page]

    public init(pages: [Page]) {
        self.pages = pages
    }

    /// The verdict; the first inconsistency found is the reason.
    public var completeness: ExportCompleteness {
        guard !pages.isEmpty else { return .incomplete(reason: "no page was read") }
        // Sort by first key; empty pages (nothing left in the range) go last.
        let sorted = pages.enumerated().sorted { a, b in
            switch (a.element.firstKey, b.element.firstKey) {
            case let (x?, y?): return x.lexicographicallyPrecedes(y) || (x == y && a.offset < b.offset)
            case (.some, nil): return true
            case (nil, .some): return false
            case (nil, nil): return a.offset < b.offset
            }
        }.map(\.element)
        for (position, page) in sorted.enumerated() {
            let count = page.count ?? 0
            if position + 1 < sorted.count {
                let next = sorted[position + 1]
                let nextCount = next.count ?? 0
                let (expected, overflow) = page.received.addingReportingOverflow(nextCount)
                if overflow || count != expected {
                    return .incomplete(reason: "page \(page.index) says count \(count) with \(page.received) keys, but the next page (\(next.index)) says count \(nextCount): \(count) != \(page.received) + \(nextCount)")
                }
            } else {
                if page.more {
                    return .incomplete(reason: "page \(page.index) says more: true and no later page continues it")
                }
                if count != page.received {
                    return .incomplete(reason: "count \(count) but \(page.received) keys received" + (sorted.count > 1 ? " in the last page (\(page.index))" : ""))
                }
            }
        }
        return .complete
    }
}

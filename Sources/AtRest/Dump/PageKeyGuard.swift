/// Catches a key delivered twice across the pages of one export, in bounded memory.
///
/// etcd returns each page sorted by key, so a page is summarised by its key range;
/// a key falling inside the range of an earlier page is either a duplicate (the
/// same page given twice, overlapping `--from-key` starts) or proof that the pages
/// disagree. Either way the earlier page is authoritative and the later entry is
/// refused as `.duplicateKey`. Memory is two keys per page, not one per key.
/// Within a page, a repeat of the previous key is also caught; a page that is not
/// key-sorted (`--sort-by`) only gets the range check.
struct PageKeyGuard {
    private struct Range { var low: [UInt8]; var high: [UInt8] }
    private var earlier: [Range] = []
    /// Highest key of all finished pages: keys above it skip the range scan.
    private var earlierHigh: [UInt8]?
    private var low: [UInt8]?
    private var high: [UInt8]?
    private var previous: [UInt8]?

    init() {}

    /// Starts a new page (document or file).
    mutating func beginPage() {
        low = nil
        high = nil
        previous = nil
    }

    /// Ends the current page, remembering its key range.
    mutating func endPage() {
        if let low, let high {
            earlier.append(Range(low: low, high: high))
            if let top = earlierHigh {
                if precedes(top, high) { earlierHigh = high }
            } else {
                earlierHigh = high
            }
        }
        beginPage()
    }

    /// Smallest key of the current page so far.
    var pageLowKey: [UInt8]? { low }

    /// Whether `key` is new; records it in the current page's range if so.
    mutating func admit(_ key: [UInt8]) -> Bool {
        if let previous, previous == key { return false }
        if let top = earlierHigh, !precedes(top, key) {
            for range in earlier where !precedes(key, range.low) && !precedes(range.high, key) {
                return false
            }
        }
        previous = key
        if let current = low {
            if precedes(key, current) { low = key }
        } else {
            low = key
        }
        if let current = high {
            if precedes(current, key) { high = key }
        } else {
            high = key
        }
        return true
    }
}

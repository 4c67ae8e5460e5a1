/// A plain-text table with aligned columns: left-aligned text, right-aligned numbers.
///
/// Cells are data (resource names, key IDs): each is escaped for the terminal
/// (`TerminalText.field`), and every padded column (all but a left-aligned last one) is cut at `cellWidth`
/// characters, ending in `…`, unless the table is `wide`. Columns are padded to their
/// widest cell, so one huge cell would otherwise pad every row to its size (D4).
struct TextTable {
    enum Alignment { case left, right }

    /// The widest a cell of a padded column is shown without `--wide`: a KMS key ARN
    /// and its provider name fit.
    static let cellWidth = 100

    private let headers: [String]
    private let alignments: [Alignment]
    private var rows: [[String]] = []

    init(_ columns: [(String, Alignment)]) {
        headers = columns.map(\.0)
        alignments = columns.map(\.1)
    }

    mutating func add(_ row: [String]) { rows.append(row.map(TerminalText.field)) }

    /// `wide`: cells are never cut.
    func render(indent: String = "  ", wide: Bool = false) -> String {
        // A left-aligned last column needs no padding: it is neither padded nor cut.
        let padded = headers.indices.map { $0 < headers.count - 1 || alignments[$0] == .right }
        let all = ([headers] + rows).map { row in
            row.indices.map { column -> String in
                guard !wide, padded[column], row[column].count > Self.cellWidth else { return row[column] }
                return row[column].prefix(Self.cellWidth - 1) + "…"
            }
        }
        let widths = headers.indices.map { column in padded[column] ? all.map { $0[column].count }.max() ?? 0 : 0 }
        return all.map { row in
            let cells = row.indices.map { column -> String in
                let padding = String(repeating: " ", count: max(0, widths[column] - row[column].count))
                return alignments[column] == .left ? row[column] + padding : padding + row[column]
            }
            var line = indent + cells.joined(separator: "  ")
            while line.hasSuffix(" ") { line.removeLast() }
            return line
        }.joined(separator: "\n") + "\n"
    }
}

/// Number formatting for people: `1,234,567`, `1.2 MiB`.
enum Human {
    static func count(_ n: some BinaryInteger) -> String {
        let digits = String(n.magnitude)
        var out = ""
        for (i, c) in digits.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(c)
        }
        return (n < 0 ? "-" : "") + String(out.reversed())
    }

    /// `1 entry`, `2 entries`.
    static func count(_ n: Int, _ singular: String, _ plural: String) -> String {
        "\(count(n)) \(n == 1 ? singular : plural)"
    }

    static func bytes(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var value = Double(n)
        var unit = 0
        while value >= 1024 && unit < units.count - 1 {
            value /= 1024
            unit += 1
        }
        if unit == 0 { return "\(n) B" }
        let rounded = (value * 10).rounded() / 10
        return "\(rounded) \(units[unit])"
    }
}

import AtRestAudit
import AtRestDump
import AtRestEncryption
import Foundation

extension AuditReport {
    /// How many findings the HTML page lists: beyond that a page gets slow to sort
    /// and filter in a browser, and `--output jsonl` is the tool for the rest.
    static let htmlFindingLimit = 2000

    /// The audit as one self-contained HTML page: nothing is fetched (no script,
    /// font, stylesheet or image from anywhere), so it can be attached to a ticket
    /// and opened offline. The readiness answers come first; the charts are inline
    /// SVG drawn here, so they show without JavaScript; a small inline script only
    /// makes tables sortable (click a header) and filterable (a text box).
    ///
    /// Every number is also in a stable place for machines and tests: `id`s such as
    /// `total-audited` and `total-<verdict>`, and `data-count` on every count cell,
    /// with `data-resource` / `data-storage` and `data-verdict` saying what it counts.
    ///
    /// Keys and reasons are attacker-controlled bytes: all text is escaped, and the
    /// Content-Security-Policy allows only this page's own inline script and style
    /// (by their SHA-256), so even markup that escaped escaping would not run.
    public func html() -> String {
        let s = result.summary
        let shown = shownVerdicts
        let style = Self.htmlStyle
        let script = Self.htmlScript
        func cspHash(_ text: String) -> String {
            "'sha256-" + Data(SHA256.hash(Array(text.utf8))).base64EncodedString() + "'"
        }
        let csp = "default-src 'none'; script-src \(cspHash(script)); style-src \(cspHash(style)); img-src data:; base-uri 'none'; form-action 'none'"
        let title = "atrest audit: \(Human.count(s.audited)) entries under \(etcdPrefix)"

        var out = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
        out += "<meta charset=\"utf-8\">\n"
        out += "<meta http-equiv=\"Content-Security-Policy\" content=\"\(Markup.html(csp))\">\n"
        out += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        out += "<meta name=\"generator\" content=\"atrest \(Markup.html(Self.apiVersion))\">\n"
        out += "<meta name=\"referrer\" content=\"no-referrer\">\n"
        out += "<title>\(Markup.html(title))</title>\n"
        out += "<style>" + style + "</style>\n"
        out += "</head>\n<body data-ready=\"0\">\n<main>\n"

        // Header.
        out += "<header>\n<h1>Encryption at rest audit</h1>\n"
        out += "<p class=\"sub\"><span id=\"header-audited\">\(Human.count(s.audited))</span> entries under <code>\(Markup.html(etcdPrefix))</code>"
        out += " in <code>\(Markup.html(inputNames))</code> against <code>\(Markup.html(configurationPath))</code>"
        out += provenance.revision.map { " at revision <span id=\"revision\" data-revision=\"\($0)\">\($0)</span>" } ?? ""
        out += "</p>\n</header>\n"
        if provenance.completeness == .incomplete {
            out += "<p class=\"warning\" id=\"incomplete\" role=\"alert\"><strong>Incomplete export:</strong> "
            out += Markup.html(provenance.completenessReason ?? "keys are missing") + "; entries not in it are not audited.</p>\n"
        }

        // Readiness first: it is what the reader came for.
        out += "<section id=\"readiness\" aria-labelledby=\"readiness-title\">\n<h2 id=\"readiness-title\">Readiness</h2>\n<ul class=\"answers\">\n"
        for answer in readinessAnswers {
            let id = answer.id == "identity" ? " id=\"readiness-identity\"" : ""
            out += "<li\(id) class=\"answer \(answer.safe ? "yes" : "no")\" data-answer=\"\(Markup.html(answer.id))\""
            out += " data-safe=\"\(answer.safe)\" data-entries=\"\(answer.entries)\">"
            out += "<span class=\"badge\">\(answer.safe ? "Yes" : "No")</span> <span class=\"sentence\">\(Markup.html(answer.sentence))</span></li>\n"
        }
        out += "</ul>\n</section>\n"

        // Totals.
        out += "<section id=\"totals\" aria-label=\"Totals\">\n<div class=\"tiles\">\n"
        out += "<div class=\"tile total\"><span class=\"n\" id=\"total-audited\" data-count=\"\(s.audited)\">\(Human.count(s.audited))</span><span class=\"l\">audited</span></div>\n"
        for verdict in Verdict.allCases {
            let n = s.byVerdict[verdict] ?? 0
            out += "<div class=\"tile v-\(verdict.rawValue)\(n == 0 ? " zero" : "")\"><span class=\"n\" id=\"total-\(verdict.rawValue)\" data-verdict=\"\(verdict.rawValue)\" data-count=\"\(n)\">\(Human.count(n))</span>"
            out += "<span class=\"l\">\(verdict.rawValue)</span></div>\n"
        }
        out += "</div>\n<p class=\"note\"><span id=\"outside-prefix\" data-count=\"\(result.outsidePrefix)\">\(Human.count(result.outsidePrefix))</span> keys outside the prefix were counted, not audited.</p>\n"
        out += "</section>\n"

        // Charts.
        let resources = s.byResource.keys.sorted()
        let storageKeys = s.byStorage.keys.sorted()
        out += "<section id=\"charts\">\n<h2>Entries by resource and verdict</h2>\n"
        out += Self.htmlLegend(shown)
        out += Self.stackedBars(id: "chart-resources", label: "Entries by resource and verdict", verdicts: shown,
                                rows: resources.map { (label: $0, attribute: "data-resource", counts: s.byResource[$0] ?? [:]) })
        out += "<h2>Entries by provider and key</h2>\n"
        out += Self.stackedBars(id: "chart-storage", label: "Entries by provider and key and verdict", verdicts: shown,
                                rows: storageKeys.map { (label: Self.storageLabel($0), attribute: "data-storage", counts: s.byStorage[$0] ?? [:]) })
        out += "</section>\n"

        // Tables.
        out += "<section id=\"resources\">\n<h2>By resource</h2>\n"
        out += Self.filterBox(table: "table-resources", what: "resources")
        out += "<table id=\"table-resources\" class=\"sortable filterable\">\n<thead><tr>"
        out += "<th data-key=\"resource\" data-type=\"text\" aria-sort=\"ascending\">Resource</th>"
        for verdict in shown { out += "<th data-key=\"\(verdict.rawValue)\" data-type=\"number\" class=\"num\">\(verdict.rawValue)</th>" }
        out += "<th data-key=\"total\" data-type=\"number\" class=\"num\">total</th></tr></thead>\n<tbody>\n"
        for name in resources {
            let counts = s.byResource[name] ?? [:]
            let attr = "data-resource=\"\(Markup.html(name))\""
            out += "<tr \(attr)><td class=\"name\">\(Markup.html(name))</td>"
            for verdict in shown {
                let n = counts[verdict] ?? 0
                out += "<td class=\"num\(n == 0 ? " zero" : "")\" data-verdict=\"\(verdict.rawValue)\" \(attr) data-count=\"\(n)\">\(Human.count(n))</td>"
            }
            let total = counts.values.reduce(0, +)
            out += "<td class=\"num total\" data-verdict=\"total\" \(attr) data-count=\"\(total)\">\(Human.count(total))</td></tr>\n"
        }
        out += "</tbody>\n</table>\n</section>\n"

        out += "<section id=\"storage\">\n<h2>By provider and key</h2>\n"
        out += Self.filterBox(table: "table-storage", what: "providers and keys")
        out += "<table id=\"table-storage\" class=\"sortable filterable\">\n<thead><tr>"
        out += "<th data-key=\"storage\" data-type=\"text\" aria-sort=\"ascending\">Stored as</th>"
        for verdict in shown { out += "<th data-key=\"\(verdict.rawValue)\" data-type=\"number\" class=\"num\">\(verdict.rawValue)</th>" }
        out += "<th data-key=\"total\" data-type=\"number\" class=\"num\">total</th></tr></thead>\n<tbody>\n"
        for key in storageKeys {
            let counts = s.byStorage[key] ?? [:]
            let label = Self.storageLabel(key)
            let attr = "data-storage=\"\(Markup.html(label))\""
            out += "<tr \(attr) data-provider=\"\(Markup.html(key.providerName))\" data-key-name=\"\(Markup.html(key.keyName ?? ""))\">"
            out += "<td class=\"name\">\(Markup.html(label))</td>"
            for verdict in shown {
                let n = counts[verdict] ?? 0
                out += "<td class=\"num\(n == 0 ? " zero" : "")\" data-verdict=\"\(verdict.rawValue)\" \(attr) data-count=\"\(n)\">\(Human.count(n))</td>"
            }
            let total = counts.values.reduce(0, +)
            out += "<td class=\"num total\" data-verdict=\"total\" \(attr) data-count=\"\(total)\">\(Human.count(total))</td></tr>\n"
        }
        out += "</tbody>\n</table>\n</section>\n"

        let findings = keptFindings
        out += "<section id=\"findings\">\n<h2>Findings</h2>\n"
        if findings.isEmpty {
            out += "<p class=\"note\" id=\"no-findings\">No entry is undecryptable, unencrypted or kept as stale.</p>\n"
        } else {
            out += Self.filterBox(table: "table-findings", what: "findings")
            out += "<table id=\"table-findings\" class=\"sortable filterable findings\">\n<thead><tr>"
            for (key, title) in [("verdict", "Verdict"), ("key", "Key"), ("resource", "Resource"), ("provider", "Provider"),
                                 ("keyName", "Key name"), ("reason", "Reason")] {
                out += "<th data-key=\"\(key)\" data-type=\"text\">\(title)</th>"
            }
            out += "</tr></thead>\n<tbody>\n"
            for entry in findings.prefix(Self.htmlFindingLimit) {
                let rank = Self.findingVerdicts.firstIndex(of: entry.verdict) ?? 9
                out += "<tr data-verdict=\"\(entry.verdict.rawValue)\" data-key=\"\(Markup.html(entry.key))\">"
                out += "<td data-sort=\"\(rank)\"><span class=\"pill v-\(entry.verdict.rawValue)\">\(entry.verdict.rawValue)</span></td>"
                out += "<td class=\"key\"><code>\(Markup.html(entry.key))</code></td>"
                out += "<td>\(Markup.html(Self.resourceName(entry)))</td>"
                out += "<td>\(Markup.html(entry.storedAs.providerName))\(entry.storedAs.kmsVersionName.map { " " + Markup.html($0) } ?? "")</td>"
                out += "<td>\(Markup.html(entry.storedAs.keyName ?? ""))</td>"
                out += "<td class=\"reason\">\(Markup.html(entry.reasonText))</td></tr>\n"
            }
            out += "</tbody>\n</table>\n"
        }
        // Entries of the listed verdicts beyond the table: past the page's limit or the audit's (`AuditSummary.findingLimit`).
        let listedVerdicts = Self.findingVerdicts.filter { s.findings[$0] != nil }
        let more = listedVerdicts.reduce(0) { $0 + (s.byVerdict[$1] ?? 0) } - min(findings.count, Self.htmlFindingLimit)
        if !findings.isEmpty && more > 0 {
            out += "<p class=\"note\" id=\"findings-more\" data-count=\"\(more)\">… and \(Human.count(more)) more; <code>--output jsonl</code> lists every entry.</p>\n"
        }
        let notListed = Self.findingVerdicts.filter { s.findings[$0] == nil && (s.byVerdict[$0] ?? 0) > 0 }
        if !notListed.isEmpty {
            out += "<p class=\"note\">Counted but not listed one by one: "
            out += notListed.map { "\(Human.count(s.byVerdict[$0] ?? 0)) \($0.rawValue)" }.joined(separator: ", ")
            out += " (<code>--output jsonl</code> lists every entry).</p>\n"
        }
        out += "</section>\n"

        // Provenance.
        out += "<section id=\"provenance\">\n<h2>Input and configuration</h2>\n<table class=\"plain\">\n"
        out += "<thead><tr><th>File</th><th>Format</th><th>SHA-256</th></tr></thead>\n<tbody>\n"
        for input in provenance.inputs {
            out += "<tr class=\"input\"><td><code>\(Markup.html(input.name))</code></td><td>\(Markup.html(input.format.rawValue))</td>"
            out += "<td class=\"hash\"><code>\(Markup.html(input.sha256))</code></td></tr>\n"
        }
        out += "<tr class=\"configuration\"><td><code>\(Markup.html(configurationPath))</code></td><td>configuration</td>"
        out += "<td class=\"hash\"><code id=\"configuration-sha256\">\(Markup.html(configurationSHA256))</code></td></tr>\n"
        out += "</tbody>\n</table>\n"
        out += "<p class=\"note\">Configuration checked under the rules of <span id=\"kubernetes-rules\">\(Markup.html(kubernetesRules.description))</span>."
        out += " Revision \(provenance.revision.map { String($0) } ?? "unknown"); export \(provenance.completeness.rawValue)."
        out += " Report <code>\(Markup.html(Self.apiVersion))</code>. It contains no decrypted data and no key material.</p>\n"
        out += "</section>\n</main>\n"
        out += "<script>" + script + "</script>\n</body>\n</html>\n"
        return out
    }

    static func filterBox(table: String, what: String) -> String {
        "<div class=\"tools\"><input type=\"search\" class=\"filter\" data-table=\"\(table)\" placeholder=\"Filter \(what)…\" aria-label=\"Filter \(what)\">"
            + "<span class=\"shown\" id=\"\(table)-shown\"></span></div>\n"
    }

    static func htmlLegend(_ verdicts: [Verdict]) -> String {
        "<ul class=\"legend\">" + verdicts.map { "<li><span class=\"swatch v-\($0.rawValue)\"></span>\($0.rawValue)</li>" }.joined() + "</ul>\n"
    }

    /// A horizontal stacked bar per row, one segment per verdict, scaled to the largest
    /// row; drawn as SVG here so it needs no script. Labels longer than fit are cut
    /// with "…" (the full label is in the bar's `<title>`, shown on hover).
    static func stackedBars(id: String, label: String, verdicts: [Verdict],
                            rows: [(label: String, attribute: String, counts: [Verdict: Int])]) -> String {
        let width = 960, labelWidth = 240, totalWidth = 80, rowHeight = 24, gap = 8, top = 4
        let barWidth = width - labelWidth - totalWidth
        let maximum = max(1, rows.map { $0.counts.values.reduce(0, +) }.max() ?? 1)
        let height = top * 2 + max(1, rows.count) * (rowHeight + gap)
        var out = "<svg id=\"\(id)\" class=\"chart\" role=\"img\" aria-label=\"\(Markup.html(label))\" viewBox=\"0 0 \(width) \(height)\" "
        out += "width=\"100%\" preserveAspectRatio=\"xMinYMin meet\" xmlns=\"http://www.w3.org/2000/svg\">\n"
        // Grid lines at quarters of the largest bar.
        for quarter in 1...4 {
            let x = labelWidth + barWidth * quarter / 4
            out += "<line class=\"grid\" x1=\"\(x)\" y1=\"0\" x2=\"\(x)\" y2=\"\(height)\"/>\n"
        }
        for (i, row) in rows.enumerated() {
            let y = top + i * (rowHeight + gap)
            let total = row.counts.values.reduce(0, +)
            let attr = "\(row.attribute)=\"\(Markup.html(row.label))\""
            let shortLabel = row.label.count > 34 ? String(row.label.prefix(33)) + "…" : row.label
            out += "<g class=\"bar\" \(attr) data-count=\"\(total)\">"
            out += "<title>\(Markup.html(row.label)): \(verdicts.filter { (row.counts[$0] ?? 0) > 0 }.map { "\($0.rawValue) \(Human.count(row.counts[$0] ?? 0))" }.joined(separator: ", "))</title>"
            out += "<text class=\"label\" x=\"\(labelWidth - 10)\" y=\"\(y + rowHeight / 2)\" text-anchor=\"end\" dominant-baseline=\"central\">\(Markup.html(shortLabel))</text>"
            var x = Double(labelWidth)
            for verdict in verdicts {
                let n = row.counts[verdict] ?? 0
                guard n > 0 else { continue }
                let w = Double(barWidth) * Double(n) / Double(maximum)
                out += "<rect class=\"v-\(verdict.rawValue)\" x=\"\(Self.svgNumber(x))\" y=\"\(y)\" width=\"\(Self.svgNumber(w))\" height=\"\(rowHeight)\""
                out += " data-verdict=\"\(verdict.rawValue)\" \(attr) data-count=\"\(n)\"/>"
                x += w
            }
            out += "<text class=\"total\" x=\"\(Self.svgNumber(x + 8))\" y=\"\(y + rowHeight / 2)\" dominant-baseline=\"central\">\(Human.count(total))</text>"
            out += "</g>\n"
        }
        out += "</svg>\n"
        return out
    }

    /// A coordinate with at most two decimals, written the same on every platform.
    static func svgNumber(_ value: Double) -> String {
        let hundredths = Int((value * 100).rounded())
        let whole = hundredths / 100, fraction = hundredths % 100
        if fraction == 0 { return String(whole) }
        return fraction % 10 == 0 ? "\(whole).\(fraction / 10)" : "\(whole).\(fraction < 10 ? "0" : "")\(fraction)"
    }

    static let htmlStyle = """

        :root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#ffffff;--panel:#f6f8fa;--yes:#1a7f37;--no:#cf222e;
        --current:#2da44e;--stale:#d4a72c;--unencrypted:#e16f24;--undecryptable:#cf222e;--unverifiable:#6e7bd9;--exempt:#9aa4ae}
        *{box-sizing:border-box}
        [hidden]{display:none !important}
        body{margin:0;background:var(--bg);color:var(--fg);font:14px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI","Noto Sans",Helvetica,Arial,sans-serif}
        main{max-width:1180px;margin:0 auto;padding:24px 32px 48px}
        header h1{font-size:24px;margin:0 0 4px}
        .sub{color:var(--muted);margin:0 0 16px}
        code{font:12px/1.4 ui-monospace,SFMono-Regular,"DejaVu Sans Mono",Menlo,Consolas,monospace;overflow-wrap:anywhere}
        h2{font-size:18px;margin:28px 0 10px;padding-bottom:6px;border-bottom:1px solid var(--line)}
        .warning{background:#fff8c5;border:1px solid #d4a72c;border-radius:6px;padding:10px 14px}
        .answers{list-style:none;margin:0;padding:0;display:grid;gap:8px}
        .answer{display:flex;gap:12px;align-items:baseline;padding:10px 14px;border:1px solid var(--line);border-left-width:6px;border-radius:6px;background:var(--panel)}
        .answer.yes{border-left-color:var(--yes)}
        .answer.no{border-left-color:var(--no)}
        .badge{flex:none;min-width:40px;text-align:center;font-weight:600;font-size:12px;color:#fff;border-radius:10px;padding:1px 8px}
        .yes .badge{background:var(--yes)}
        .no .badge{background:var(--no)}
        .tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(130px,1fr));gap:10px;margin-top:20px}
        .tile{border:1px solid var(--line);border-top-width:4px;border-radius:6px;padding:10px 12px;background:var(--bg)}
        .tile .n{display:block;font-size:24px;font-weight:600;font-variant-numeric:tabular-nums}
        .tile .l{color:var(--muted);font-size:12px;text-transform:uppercase;letter-spacing:.04em}
        .tile.total{border-top-color:var(--fg)}
        .tile.zero .n{color:var(--muted)}
        .tile.v-current{border-top-color:var(--current)}.tile.v-stale{border-top-color:var(--stale)}
        .tile.v-unencrypted{border-top-color:var(--unencrypted)}.tile.v-undecryptable{border-top-color:var(--undecryptable)}
        .tile.v-unverifiable{border-top-color:var(--unverifiable)}.tile.v-exempt{border-top-color:var(--exempt)}
        .note{color:var(--muted);font-size:13px}
        .legend{list-style:none;display:flex;flex-wrap:wrap;gap:16px;padding:0;margin:0 0 8px;font-size:13px}
        .swatch{display:inline-block;width:12px;height:12px;border-radius:2px;margin-right:6px;vertical-align:-1px}
        .swatch.v-current,rect.v-current{background:var(--current);fill:var(--current)}
        .swatch.v-stale,rect.v-stale{background:var(--stale);fill:var(--stale)}
        .swatch.v-unencrypted,rect.v-unencrypted{background:var(--unencrypted);fill:var(--unencrypted)}
        .swatch.v-undecryptable,rect.v-undecryptable{background:var(--undecryptable);fill:var(--undecryptable)}
        .swatch.v-unverifiable,rect.v-unverifiable{background:var(--unverifiable);fill:var(--unverifiable)}
        .swatch.v-exempt,rect.v-exempt{background:var(--exempt);fill:var(--exempt)}
        .chart{display:block;max-width:960px;font-size:13px}
        .chart .label{fill:var(--fg)}
        .chart .total{fill:var(--muted);font-variant-numeric:tabular-nums}
        .chart .grid{stroke:var(--line);stroke-dasharray:2 3}
        .chart rect{stroke:#fff;stroke-width:1}
        .tools{display:flex;align-items:center;gap:12px;margin:0 0 8px}
        .filter{width:320px;max-width:100%;padding:6px 10px;border:1px solid var(--line);border-radius:6px;font:inherit}
        .shown{color:var(--muted);font-size:12px}
        table{border-collapse:collapse;width:100%;font-variant-numeric:tabular-nums}
        th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
        thead th{background:var(--panel);font-weight:600;white-space:nowrap;position:sticky;top:0}
        table.sortable thead th{cursor:pointer;user-select:none}
        table.sortable thead th::after{content:"";display:inline-block;width:1em;margin-left:4px;color:var(--muted)}
        table.sortable thead th[aria-sort=ascending]::after{content:"\\25B2"}
        table.sortable thead th[aria-sort=descending]::after{content:"\\25BC"}
        .num{text-align:right}
        td.zero{color:#afb8c1}
        td.total{font-weight:600}
        tbody tr:hover{background:var(--panel)}
        .findings td.key{width:38%;min-width:280px}
        .findings td:first-child{white-space:nowrap}
        .findings td.reason{color:var(--muted)}
        .pill{display:inline-block;font-size:12px;font-weight:600;color:#fff;border-radius:10px;padding:0 8px}
        .pill.v-undecryptable{background:var(--undecryptable)}.pill.v-unencrypted{background:var(--unencrypted)}
        .pill.v-stale{background:var(--stale);color:#1f2328}
        .hash code{font-size:11px}
        @media print{.tools{display:none}thead th{position:static}}

        """

    /// Sorting and filtering, nothing else: the page reads fine without it. It sets
    /// `data-ready="1"` on `<body>` once the tables are wired, and applies
    /// `#filter=<text>` and `#sort=<column>:<asc|desc>` from the URL on load, so a
    /// link can point at a view (and a headless browser can check both work).
    static let htmlScript = """

        (function () {
          "use strict";
          function value(cell, numeric) {
            if (!cell) { return numeric ? 0 : ""; }
            if (numeric) { return Number(cell.getAttribute("data-count") || "0"); }
            var v = cell.getAttribute("data-sort");
            return (v !== null ? v : cell.textContent || "").toLowerCase();
          }
          function sortTable(table, index, descending) {
            var header = table.tHead.rows[0].cells[index];
            var numeric = header.getAttribute("data-type") === "number";
            var body = table.tBodies[0];
            var rows = Array.prototype.slice.call(body.rows);
            var order = new Map();
            rows.forEach(function (row, i) { order.set(row, i); });
            rows.sort(function (a, b) {
              var x = value(a.cells[index], numeric), y = value(b.cells[index], numeric);
              var c = x < y ? -1 : (x > y ? 1 : 0);
              return (descending ? -c : c) || order.get(a) - order.get(b);
            });
            rows.forEach(function (row) { body.appendChild(row); });
            Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell, i) {
              cell.setAttribute("aria-sort", i === index ? (descending ? "descending" : "ascending") : "none");
            });
          }
          function filterTable(table, query) {
            var q = query.trim().toLowerCase();
            var rows = table.tBodies[0].rows, shown = 0;
            Array.prototype.forEach.call(rows, function (row) {
              var match = q === "" || row.textContent.toLowerCase().indexOf(q) !== -1;
              row.hidden = !match;
              if (match) { shown += 1; }
            });
            var counter = document.getElementById(table.id + "-shown");
            if (counter) { counter.textContent = q === "" ? "" : shown + " of " + rows.length + " rows"; }
          }
          var tables = document.querySelectorAll("table.sortable");
          Array.prototype.forEach.call(tables, function (table) {
            Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell, index) {
              cell.tabIndex = 0;
              var toggle = function () {
                var current = cell.getAttribute("aria-sort");
                var numeric = cell.getAttribute("data-type") === "number";
                // A new column sorts numbers largest first and text A to Z; a second click reverses.
                var descending = current === "ascending" ? true : (current === "descending" ? false : numeric);
                sortTable(table, index, descending);
              };
              cell.addEventListener("click", toggle);
              cell.addEventListener("keydown", function (event) {
                if (event.key === "Enter" || event.key === " ") { event.preventDefault(); toggle(); }
              });
            });
          });
          var inputs = document.querySelectorAll("input.filter");
          Array.prototype.forEach.call(inputs, function (input) {
            var table = document.getElementById(input.getAttribute("data-table"));
            if (table) { input.addEventListener("input", function () { filterTable(table, input.value); }); }
          });
          var params = new URLSearchParams(location.hash.replace(/^#/, ""));
          var filter = params.get("filter");
          if (filter !== null) {
            Array.prototype.forEach.call(inputs, function (input) {
              var table = document.getElementById(input.getAttribute("data-table"));
              input.value = filter;
              if (table) { filterTable(table, filter); }
            });
          }
          var sort = params.get("sort");
          if (sort) {
            var parts = sort.split(":");
            Array.prototype.forEach.call(tables, function (table) {
              Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell, index) {
                if (cell.getAttribute("data-key") === parts[0]) { sortTable(table, index, parts[1] === "desc"); }
              });
            });
          }
          document.body.setAttribute("data-ready", "1");
        })();

        """
}

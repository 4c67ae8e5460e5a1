import AtRestTestSupport
import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import Testing

/// One audit, rendered by the built `atrest`, in every format; shared by the
/// format tests and the browser tests.
///
/// The input is `testdata/audit/entries.json` written as an etcdctl `-w json`
/// export, plus two hostile entries whose keys carry markup and table syntax
/// (`<script>`, `|`, `&`, `"`), as anyone who can create objects can name them.
enum ReportFixture {
    /// A copy of the fixture's plaintext configmap: `unencrypted`.
    static let hostileKey = "/registry/configmaps/default/evil<script>alert(1)&x\"y|z"
    /// A copy of an aesgcm secret under another key (the key is authenticated): `undecryptable`.
    static let hostileUndecryptableKey = "/registry/secrets/default/evil|<script>alert(2)"
    static let marker = "ATREST-PLAINTEXT-MARKER-5f0c1e"

    struct Entry: Decodable {
        var key: String
        var value: String
        var keyBytes: [UInt8] { [UInt8](Data(base64Encoded: key) ?? Data()) }
    }

    static func entries() throws -> [Entry] {
        var entries = try JSONDecoder().decode([Entry].self, from: Data(Fixtures.bytes("audit/entries.json")))
        func value(of key: String) throws -> String {
            try #require(entries.first { String(decoding: $0.keyBytes, as: UTF8.self) == key }).value
        }
        entries.append(Entry(key: Data(hostileKey.utf8).base64EncodedString(), value: try value(of: "/registry/configmaps/default/plain")))
        entries.append(Entry(key: Data(hostileUndecryptableKey.utf8).base64EncodedString(),
                             value: try value(of: "/registry/secrets/default/gcm-key1")))
        return entries.sorted { $0.keyBytes.lexicographicallyPrecedes($1.keyBytes) }
    }

    /// An etcdctl `get "" --prefix -w json` document: keys sorted, base64, header with revision, `count` = kvs.
    static func jsonExport(_ entries: [Entry]) -> [UInt8] {
        let kvs = entries.enumerated().map { index, entry in
            "{\"key\":\"\(entry.key)\",\"create_revision\":\(index + 2),\"mod_revision\":\(index + 2),\"version\":1,\"value\":\"\(entry.value)\"}"
        }
        let document = "{\"header\":{\"cluster_id\":14841639068965178418,\"member_id\":10276657743932975437,\"revision\":\(entries.count + 1),\"raft_term\":2},"
            + "\"kvs\":[\(kvs.joined(separator: ","))],\"count\":\(entries.count)}\n"
        return Array(document.utf8)
    }

    /// A private directory with `export.json` and `config.yaml` (a 0600 copy of the fixture's configuration).
    struct Workspace {
        var directory: URL
        var export: String
        var config: String

        init(label: String) throws {
            directory = try Fixtures.temporaryDirectory(label)
            export = directory.appendingPathComponent("export.json").path
            config = directory.appendingPathComponent("config.yaml").path
            try Data(ReportFixture.jsonExport(try ReportFixture.entries())).write(to: URL(fileURLWithPath: export))
            try Data(Fixtures.bytes("audit/config.yaml")).write(to: URL(fileURLWithPath: config))
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: config)
        }

        func audit(_ format: String, _ extra: [String] = []) throws -> AtRestBinary.Result {
            try AtRestBinary.run(["audit", "--feature-gates", "KMSv1=true", export, "--config", config, "--output", format] + extra)
        }

        func remove() { try? FileManager.default.removeItem(at: directory) }
    }

    /// `--output json`, the reference every other format must agree with.
    struct Reference {
        var audited: Int
        var verdicts: [String: Int]
        /// resource → verdict → count.
        var resources: [String: [String: Int]]
        var undecryptable: [(key: String, reason: String)]
        var identityRemoval: Int
        /// "provider/keyName" → entries still using it.
        var keyRemoval: [String: Int]
        var revision: Int

        init(_ stdout: String) throws {
            let document = try #require(try JSONSerialization.jsonObject(with: Data(stdout.utf8)) as? [String: Any])
            let totals = try #require(document["totals"] as? [String: Any])
            audited = try #require(totals["audited"] as? Int)
            verdicts = try #require(totals["verdicts"] as? [String: Int])
            var resources: [String: [String: Int]] = [:]
            for resource in document["resources"] as? [[String: Any]] ?? [] {
                resources[resource["resource"] as? String ?? ""] = resource["verdicts"] as? [String: Int] ?? [:]
            }
            self.resources = resources
            undecryptable = (document["undecryptable"] as? [[String: Any]] ?? []).map {
                (key: $0["key"] as? String ?? "", reason: $0["reason"] as? String ?? "")
            }
            let readiness = try #require(document["readiness"] as? [String: Any])
            identityRemoval = try #require((readiness["identityRemoval"] as? [String: Any])?["wouldBecomeUnreadable"] as? Int)
            var keys: [String: Int] = [:]
            for key in readiness["keyRemoval"] as? [[String: Any]] ?? [] {
                keys["\(key["provider"] as? String ?? "")/\(key["keyName"] as? String ?? "")"] = key["entriesStillUsingIt"] as? Int
            }
            keyRemoval = keys
            revision = try #require((document["input"] as? [String: Any])?["revision"] as? Int)
        }
    }

    /// Every secret of the fixture's configuration, as base64 (as in the file) and hex.
    static func secrets() throws -> Set<String> {
        var secrets: Set<String> = []
        let text = String(decoding: try Fixtures.bytes("audit/config.yaml"), as: UTF8.self)
        for line in text.split(separator: "\n") where line.contains("secret:") {
            let secret = line.split(separator: ":", maxSplits: 1)[1].trimmingCharacters(in: .whitespaces)
            secrets.insert(secret)
            let bytes = [UInt8](Data(base64Encoded: secret) ?? Data())
            secrets.insert(bytes.map { String(format: "%02x", $0) }.joined())
        }
        return secrets
    }

    /// Start tags and their attributes, in document order, from HTML as written by
    /// atrest or serialized by a browser (values double-quoted, entities decoded).
    static func tags(_ html: String) -> [(name: String, attributes: [String: String])] {
        let tag = try! NSRegularExpression(pattern: #"<([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^\s=>/]+(?:="[^"]*")?)*)\s*/?>"#)
        let attribute = try! NSRegularExpression(pattern: #"([^\s=>/]+)(?:="([^"]*)")?"#)
        let ns = html as NSString
        return tag.matches(in: html, range: NSRange(location: 0, length: ns.length)).map { match in
            let name = ns.substring(with: match.range(at: 1)).lowercased()
            var attributes: [String: String] = [:]
            if match.range(at: 2).location != NSNotFound {
                let text = ns.substring(with: match.range(at: 2))
                let t = text as NSString
                for a in attribute.matches(in: text, range: NSRange(location: 0, length: t.length)) {
                    let value = a.range(at: 2).location == NSNotFound ? "" : t.substring(with: a.range(at: 2))
                    attributes[t.substring(with: a.range(at: 1)).lowercased()] = decodeEntities(value)
                }
            }
            return (name, attributes)
        }
    }

    static func decodeEntities(_ text: String) -> String {
        text.replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">")
            .replacingOccurrences(of: "&quot;", with: "\"").replacingOccurrences(of: "&#39;", with: "'")
            .replacingOccurrences(of: "&amp;", with: "&")
    }

    /// resource → verdict → count, from the `data-count` cells of the by-resource table.
    static func resourceCells(_ tags: [(name: String, attributes: [String: String])]) -> [String: [String: Int]] {
        var counts: [String: [String: Int]] = [:]
        for tag in tags where tag.name == "td" {
            guard let resource = tag.attributes["data-resource"], let verdict = tag.attributes["data-verdict"],
                  verdict != "total", let n = tag.attributes["data-count"].flatMap(Int.init), n > 0 else { continue }
            counts[resource, default: [:]][verdict] = n
        }
        return counts
    }

    /// The numbers of the totals tiles: `total-audited` and `total-<verdict>` (non-zero only).
    static func totals(_ tags: [(name: String, attributes: [String: String])]) -> (audited: Int?, verdicts: [String: Int]) {
        var audited: Int?
        var verdicts: [String: Int] = [:]
        for tag in tags {
            guard let id = tag.attributes["id"], id.hasPrefix("total-"), let n = tag.attributes["data-count"].flatMap(Int.init) else { continue }
            if id == "total-audited" { audited = n } else if n > 0 { verdicts[String(id.dropFirst("total-".count))] = n }
        }
        return (audited, verdicts)
    }
}

/// Every rendering of `atrest audit` says what `--output json` says, the same way
/// every time, without key material or object data, and with hostile keys escaped.
@Suite struct ReportFormatTests {
    static let formats = ["text", "json", "markdown", "html", "sarif", "junit", "prometheus"]

    /// The rendering in `format` and the JSON reference, from one workspace.
    static func render(_ format: String, _ extra: [String] = []) throws -> (String, ReportFixture.Reference) {
        let workspace = try ReportFixture.Workspace(label: "report-\(format)")
        defer { workspace.remove() }
        let rendered = try workspace.audit(format, extra)
        #expect(rendered.status == 1, "\(format): exit \(rendered.status); stderr: \(rendered.stderr)")
        let json = try workspace.audit("json", extra)
        return (rendered.stdout, try ReportFixture.Reference(json.stdout))
    }

    // MARK: Every format

    @Test(arguments: ReportFormatTests.formats)
    func outputIsIdenticalFromRunToRun(_ format: String) throws {
        let workspace = try ReportFixture.Workspace(label: "report-twice")
        defer { workspace.remove() }
        let first = try workspace.audit(format)
        let second = try workspace.audit(format)
        #expect(first.status == 1, "stderr: \(first.stderr)")
        #expect(!first.stdout.isEmpty)
        #expect(first.stdout == second.stdout)
    }

    @Test(arguments: ReportFormatTests.formats)
    func outputHasNoKeyMaterialOrObjectData(_ format: String) throws {
        let workspace = try ReportFixture.Workspace(label: "report-secrets")
        defer { workspace.remove() }
        let secrets = try ReportFixture.secrets()
        #expect(secrets.count >= 18)
        let result = try workspace.audit(format)
        for stream in [result.stdout, result.stderr] {
            #expect(!stream.contains(ReportFixture.marker))
            #expect(!stream.contains("MARKER"))
            for secret in secrets { #expect(!stream.contains(secret), "--output \(format) prints key material") }
        }
    }

    @Test func everyFormatIsListedInTheHelp() throws {
        let help = try AtRestBinary.run(["audit", "--help"])
        for format in Self.formats + ["jsonl"] { #expect(help.stdout.contains(format), "\(format) missing from --help") }
    }

    // MARK: Markdown

    /// The rows of the Markdown table under `heading`: header cells → cell text, escapes undone.
    static func markdownTable(_ markdown: String, under heading: String) -> [[String: String]] {
        let lines = markdown.components(separatedBy: "\n")
        guard let start = lines.firstIndex(where: { $0.hasPrefix("## ") && $0.contains(heading) }) else { return [] }
        let table = lines[(start + 1)...].drop { !$0.hasPrefix("|") }.prefix { $0.hasPrefix("|") }
        func cells(_ line: String) -> [String] {
            // Split on unescaped pipes, then undo backslash escapes and code spans.
            var cells: [String] = [], cell = "", escaped = false
            for c in line.dropFirst() {
                if escaped { cell.append(c); escaped = false; continue }
                if c == "\\" { escaped = true; continue }
                if c == "|" { cells.append(cell.trimmingCharacters(in: .whitespaces)); cell = ""; continue }
                cell.append(c)
            }
            return cells.map { $0.trimmingCharacters(in: CharacterSet(charactersIn: "`* ")) }
        }
        guard let header = table.first.map(cells) else { return [] }
        return table.dropFirst(2).map { Dictionary(zip(header, cells($0)), uniquingKeysWith: { a, _ in a }) }
    }

    static func number(_ text: String?) -> Int? { text.flatMap { Int($0.replacingOccurrences(of: ",", with: "")) } }

    @Test func markdownTablesAgreeWithJSON() throws {
        let (markdown, reference) = try Self.render("markdown")
        let totals = Self.markdownTable(markdown, under: "Verdict totals")
        var verdicts: [String: Int] = [:]
        for row in totals where row["verdict"] != "total" { verdicts[row["verdict"] ?? ""] = Self.number(row["entries"]) }
        #expect(verdicts == reference.verdicts)
        #expect(Self.number(totals.first { $0["verdict"] == "total" }?["entries"]) == reference.audited)

        var resources: [String: [String: Int]] = [:]
        for row in Self.markdownTable(markdown, under: "By resource") {
            var counts: [String: Int] = [:]
            for (column, value) in row where column != "resource" && column != "total" {
                if let n = Self.number(value), n > 0 { counts[column] = n }
            }
            resources[row["resource"] ?? ""] = counts
        }
        #expect(resources == reference.resources)
        let byStorage = Self.markdownTable(markdown, under: "By provider and key")
        #expect(byStorage.reduce(0) { $0 + (Self.number($1["total"]) ?? 0) } == reference.audited)
    }

    @Test func markdownStartsWithTheReadinessAnswers() throws {
        let (markdown, reference) = try Self.render("markdown")
        let headings = markdown.components(separatedBy: "\n").filter { $0.hasPrefix("## ") }
        #expect(headings.first == "## Readiness")
        #expect(markdown.contains("**No**: identity can NOT be removed yet: \(reference.identityRemoval) entries would become unreadable"))
        #expect(markdown.contains("**Yes**: aesgcm key \"key3\" can be removed now"))
    }

    @Test func markdownListsEveryUndecryptableEntryWithItsReason() throws {
        let (markdown, reference) = try Self.render("markdown")
        let rows = Self.markdownTable(markdown, under: "Undecryptable entries")
        #expect(rows.map { $0["key"] ?? "" } == reference.undecryptable.map(\.key))
        #expect(rows.map { $0["reason"] ?? "" } == reference.undecryptable.map(\.reason))
    }

    @Test func markdownEscapesPipesAndMarkupInKeys() throws {
        let (markdown, _) = try Self.render("markdown")
        // In a list, a code span shows the key as is; in a table, its pipe is escaped.
        #expect(markdown.contains("- `\(ReportFixture.hostileKey)`"))
        #expect(markdown.contains("| `/registry/secrets/default/evil\\|<script>alert(2)` |"))
        for line in markdown.components(separatedBy: "\n") where line.hasPrefix("|") {
            #expect(!line.contains("evil|"), "unescaped pipe: \(line)")
        }
        let rows = Self.markdownTable(markdown, under: "Undecryptable entries")
        #expect(rows.contains { $0["key"] == ReportFixture.hostileUndecryptableKey })
    }

    // MARK: SARIF

    static func sarif() throws -> ([String: Any], ReportFixture.Reference) {
        let (text, reference) = try render("sarif")
        let document = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        return (document, reference)
    }

    @Test func sarifHasEveryRequiredField() throws {
        let (document, _) = try Self.sarif()
        #expect(document["$schema"] as? String == "https://json.schemastore.org/sarif-2.1.0.json")
        #expect(document["version"] as? String == "2.1.0")
        let runs = try #require(document["runs"] as? [[String: Any]])
        #expect(runs.count == 1)
        let driver = try #require((runs[0]["tool"] as? [String: Any])?["driver"] as? [String: Any])
        #expect(driver["name"] as? String == "atrest")
        let rules = try #require(driver["rules"] as? [[String: Any]])
        let ids = rules.compactMap { $0["id"] as? String }
        #expect(ids == ["atrest/undecryptable", "atrest/unencrypted", "atrest/stale"])
        for rule in rules {
            #expect(((rule["shortDescription"] as? [String: Any])?["text"] as? String)?.isEmpty == false)
        }
        let results = try #require(runs[0]["results"] as? [[String: Any]])
        let artifacts = runs[0]["artifacts"] as? [[String: Any]] ?? []
        for result in results {
            let ruleID = try #require(result["ruleId"] as? String)
            let index = try #require(result["ruleIndex"] as? Int)
            #expect(ids.indices.contains(index) && ids[index] == ruleID)
            #expect(["error", "warning", "note"].contains(result["level"] as? String ?? ""))
            #expect(((result["message"] as? [String: Any])?["text"] as? String)?.isEmpty == false)
            let location = try #require((result["locations"] as? [[String: Any]])?.first)
            let logical = try #require((location["logicalLocations"] as? [[String: Any]])?.first)
            #expect((logical["fullyQualifiedName"] as? String)?.hasPrefix("/registry/") == true)
            #expect(logical["kind"] as? String == "resource")
            let artifact = (location["physicalLocation"] as? [String: Any])?["artifactLocation"] as? [String: Any]
            let artifactIndex = try #require(artifact?["index"] as? Int)
            #expect(artifacts.indices.contains(artifactIndex))
            #expect((artifact?["uri"] as? String)?.hasSuffix("export.json") == true)
        }
    }

    @Test func sarifHasOneResultPerFindingWithItsLevel() throws {
        let (document, reference) = try Self.sarif()
        let run = try #require((document["runs"] as? [[String: Any]])?.first)
        let results = try #require(run["results"] as? [[String: Any]])
        func key(_ result: [String: Any]) -> String {
            (((result["locations"] as? [[String: Any]])?.first?["logicalLocations"] as? [[String: Any]])?.first?["fullyQualifiedName"] as? String) ?? ""
        }
        let undecryptable = results.filter { $0["ruleId"] as? String == "atrest/undecryptable" }
        #expect(undecryptable.map(key) == reference.undecryptable.map(\.key))
        #expect(undecryptable.allSatisfy { $0["level"] as? String == "error" })
        #expect(undecryptable.map { ($0["message"] as? [String: Any])?["text"] as? String ?? "" } == reference.undecryptable.map(\.reason))
        let unencrypted = results.filter { $0["ruleId"] as? String == "atrest/unencrypted" }
        #expect(unencrypted.count == reference.verdicts["unencrypted"])
        #expect(unencrypted.allSatisfy { $0["level"] as? String == "warning" })
        #expect(unencrypted.map(key).contains(ReportFixture.hostileKey))
        let properties = try #require(unencrypted.first?["properties"] as? [String: Any])
        #expect(properties["provider"] as? String == "identity")
        #expect(properties["resource"] != nil && properties["namespace"] != nil)
    }

    @Test func sarifNotesStaleEntriesThatAreNotListed() throws {
        let (document, reference) = try Self.sarif()
        let run = try #require((document["runs"] as? [[String: Any]])?.first)
        let stale = reference.verdicts["stale"] ?? 0
        #expect(stale > 0)
        let notifications = ((run["invocations"] as? [[String: Any]])?.first?["toolExecutionNotifications"] as? [[String: Any]]) ?? []
        let texts = notifications.compactMap { ($0["message"] as? [String: Any])?["text"] as? String }
        let listed = (run["results"] as? [[String: Any]] ?? []).filter { $0["ruleId"] as? String == "atrest/stale" }.count
        if listed < stale {
            #expect(texts.contains { $0.hasPrefix("\(stale - listed) of \(stale) stale entries") }, "\(texts)")
        }
    }

    // MARK: JUnit

    static func junit(_ extra: [String] = []) throws -> (XMLElement, ReportFixture.Reference) {
        let (text, reference) = try render("junit", extra)
        let document = try XMLDocument(data: Data(text.utf8))
        return (try #require(document.rootElement()), reference)
    }

    static func failingResources(_ root: XMLElement) throws -> [String: String] {
        var failing: [String: String] = [:]
        for testcase in try root.nodes(forXPath: "//testcase").compactMap({ $0 as? XMLElement }) {
            if let failure = testcase.elements(forName: "failure").first {
                failing[testcase.attribute(forName: "name")?.stringValue ?? ""] = failure.attribute(forName: "message")?.stringValue ?? ""
            }
        }
        return failing
    }

    @Test func junitHasOneTestCasePerResourceFailingOnDefaultVerdicts() throws {
        let (root, reference) = try Self.junit()
        #expect(root.name == "testsuites")
        let suite = try #require(root.elements(forName: "testsuite").first)
        #expect(suite.attribute(forName: "name")?.stringValue == "atrest audit")
        let cases = try root.nodes(forXPath: "//testcase").compactMap { $0 as? XMLElement }
        #expect(cases.map { $0.attribute(forName: "name")?.stringValue ?? "" } == reference.resources.keys.sorted())
        #expect(cases.allSatisfy { $0.attribute(forName: "classname")?.stringValue == "atrest.audit" })
        let failing = try Self.failingResources(root)
        let expected = reference.resources.filter { ($0.value["undecryptable"] ?? 0) + ($0.value["unencrypted"] ?? 0) > 0 }
        #expect(Set(failing.keys) == Set(expected.keys))
        #expect(suite.attribute(forName: "tests")?.stringValue == String(reference.resources.count))
        #expect(suite.attribute(forName: "failures")?.stringValue == String(expected.count))
        for (resource, message) in failing {
            let counts = expected[resource] ?? [:]
            if let n = counts["undecryptable"] { #expect(message.contains("\(n) undecryptable"), "\(resource): \(message)") }
            if let n = counts["unencrypted"] { #expect(message.contains("\(n) unencrypted"), "\(resource): \(message)") }
        }
    }

    @Test func junitFailureNamesTheKeysWithReasons() throws {
        let (root, reference) = try Self.junit()
        let secrets = try #require(try root.nodes(forXPath: "//testcase[@name='secrets']/failure").first)
        let text = secrets.stringValue ?? ""
        for entry in reference.undecryptable.filter({ $0.key.hasPrefix("/registry/secrets/") }).prefix(5) {
            #expect(text.contains("undecryptable: \(entry.key): \(entry.reason)"), "\(text)")
        }
        let configmaps = try #require(try root.nodes(forXPath: "//testcase[@name='configmaps']/failure").first)
        #expect((configmaps.stringValue ?? "").contains(ReportFixture.hostileKey), "the hostile key survives XML escaping intact")
    }

    @Test func junitFailsOnTheFailOnVerdicts() throws {
        let (root, reference) = try Self.junit(["--fail-on", "stale"])
        let failing = try Self.failingResources(root)
        let stale = reference.resources.filter { ($0.value["stale"] ?? 0) > 0 }
        #expect(!stale.isEmpty)
        #expect(Set(failing.keys) == Set(stale.keys))
        for (resource, message) in failing { #expect(message.contains("\(stale[resource]?["stale"] ?? -1) stale"), "\(message)") }
    }

    // MARK: Prometheus

    /// Series name → [labels → value].
    static func prometheusSeries(_ text: String) throws -> [String: [[String: String]: Int]] {
        var series: [String: [[String: String]: Int]] = [:]
        let pattern = try NSRegularExpression(pattern: #"([a-z_]+)="((?:[^"\\]|\\.)*)""#)
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            let line = String(line)
            let (head, value) = (line[..<(line.lastIndex(of: " ") ?? line.endIndex)], line[(line.lastIndex(of: " ") ?? line.endIndex)...])
            let name = String(head.prefix { $0 != "{" })
            var labels: [String: String] = [:]
            let h = String(head) as NSString
            for match in pattern.matches(in: String(head), range: NSRange(location: 0, length: h.length)) {
                labels[h.substring(with: match.range(at: 1))] = h.substring(with: match.range(at: 2))
            }
            series[name, default: [:]][labels] = Int(value.trimmingCharacters(in: .whitespaces))
        }
        return series
    }

    @Test func prometheusSeriesAgreeWithJSON() throws {
        let (text, reference) = try Self.render("prometheus")
        let series = try Self.prometheusSeries(text)
        var resources: [String: [String: Int]] = [:]
        for (labels, value) in series["atrest_entries"] ?? [:] where value > 0 {
            resources[labels["resource"] ?? "", default: [:]][labels["verdict"] ?? ""] = value
        }
        #expect(resources == reference.resources)
        var fromStorage: [String: [String: Int]] = [:]
        for (labels, value) in series["atrest_entries_by_storage"] ?? [:] {
            fromStorage[labels["resource"] ?? "", default: [:]][labels["verdict"] ?? "", default: 0] += value
        }
        #expect(fromStorage == reference.resources)
        #expect(series["atrest_identity_removal_unreadable_entries"]?[[:]] == reference.identityRemoval)
        var keys: [String: Int] = [:]
        for (labels, value) in series["atrest_key_removal_entries"] ?? [:] { keys["\(labels["provider"] ?? "")/\(labels["key_name"] ?? "")"] = value }
        #expect(keys == reference.keyRemoval)
        #expect(series["atrest_audit_revision"]?[[:]] == reference.revision)
        #expect(series["atrest_audited_entries"]?[[:]] == reference.audited)
    }

    @Test func prometheusEveryFamilyHasHelpAndTypeAndSortedSeries() throws {
        let (text, _) = try Self.render("prometheus")
        let lines = text.split(separator: "\n").map(String.init)
        var family = "", seriesOfFamily: [String] = []
        var families: [String] = []
        for (i, line) in lines.enumerated() {
            if line.hasPrefix("# HELP ") {
                #expect(seriesOfFamily == seriesOfFamily.sorted(), "\(family) not sorted")
                family = String(line.dropFirst(7).prefix { $0 != " " })
                families.append(family)
                seriesOfFamily = []
                #expect(lines.indices.contains(i + 1) && lines[i + 1] == "# TYPE \(family) gauge")
            } else if !line.hasPrefix("#") {
                #expect(line.hasPrefix(family + "{") || line.hasPrefix(family + " "), "\(line) outside its family \(family)")
                seriesOfFamily.append(line)
            }
        }
        #expect(families == families.sorted())
        #expect(families.contains("atrest_entries_by_storage"))
    }

    @Test func prometheusExportsTheKMSKeyIDOnlyAsTheApiserversHash() throws {
        let (text, _) = try Self.render("prometheus")
        #expect(!text.contains("vault-key-7"))
        // sha256("vault-key-7"), as the apiserver's key_id_hash label has it.
        let hash = "sha256:" + Self.sha256Hex("vault-key-7")
        let series = try Self.prometheusSeries(text)
        let v2 = (series["atrest_entries_by_storage"] ?? [:]).keys.filter { $0["kms_version"] == "v2" && $0["key_name"] == "vault" }
        #expect(!v2.isEmpty)
        #expect(v2.allSatisfy { $0["kms_key_id_hash"] == hash }, "\(v2)")
    }

    /// SHA-256 with the system's `sha256sum`, independent of atrest's implementation.
    static func sha256Hex(_ text: String) -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["sha256sum"]
        let input = Pipe(), output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        try? process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try? input.fileHandleForWriting.close()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return String(String(decoding: data, as: UTF8.self).prefix(64))
    }

    // MARK: HTML

    @Test func htmlNumbersAgreeWithJSON() throws {
        let (html, reference) = try Self.render("html")
        let tags = ReportFixture.tags(html)
        let totals = ReportFixture.totals(tags)
        #expect(totals.audited == reference.audited)
        #expect(totals.verdicts == reference.verdicts)
        #expect(ReportFixture.resourceCells(tags) == reference.resources)
        // The chart draws the same numbers.
        var chart: [String: [String: Int]] = [:]
        for tag in tags where tag.name == "rect" {
            if let resource = tag.attributes["data-resource"], let verdict = tag.attributes["data-verdict"] {
                chart[resource, default: [:]][verdict] = Int(tag.attributes["data-count"] ?? "")
            }
        }
        #expect(chart == reference.resources)
        let identity = tags.first { $0.attributes["id"] == "readiness-identity" }
        #expect(identity?.attributes["data-safe"] == "false")
        #expect(identity?.attributes["data-entries"] == String(reference.identityRemoval))
    }

    @Test func htmlEscapesMarkupInKeys() throws {
        let (html, _) = try Self.render("html")
        #expect(!html.contains("<script>alert"))
        #expect(html.contains("evil&lt;script&gt;alert(1)&amp;x&quot;y|z"))
        #expect(html.contains("evil|&lt;script&gt;alert(2)"))
        #expect(html.components(separatedBy: "<script").count == 2, "exactly one script element")
        let keys = ReportFixture.tags(html).compactMap { $0.name == "tr" ? $0.attributes["data-key"] : nil }
        #expect(keys.contains(ReportFixture.hostileKey))
    }

    @Test func htmlIsSelfContained() throws {
        let (html, _) = try Self.render("html")
        let tags = ReportFixture.tags(html)
        for tag in tags {
            #expect(tag.attributes["src"] == nil, "<\(tag.name) src>")
            #expect(tag.attributes["href"] == nil, "<\(tag.name) href>")
            #expect(tag.name != "link" && tag.name != "iframe" && tag.name != "object")
        }
        #expect(!html.contains("@import") && !html.contains("url("))
        let csp = try #require(tags.first { $0.attributes["http-equiv"]?.lowercased() == "content-security-policy" }?.attributes["content"])
        #expect(csp.hasPrefix("default-src 'none';"))
        #expect(csp.contains("script-src 'sha256-") && csp.contains("style-src 'sha256-"))
        #expect(!csp.contains("unsafe-inline") && !csp.contains("http"))
    }

    @Test func htmlStartsWithTheReadinessAnswers() throws {
        let (html, _) = try Self.render("html")
        let readiness = try #require(html.range(of: "id=\"readiness\""))
        for later in ["id=\"totals\"", "id=\"charts\"", "id=\"table-resources\"", "id=\"table-findings\""] {
            let range = try #require(html.range(of: later), "\(later)")
            #expect(readiness.lowerBound < range.lowerBound, "\(later) before the readiness answers")
        }
    }
}

import AtRestTestSupport
import Foundation
import Testing

/// k3s's kine datastore (`state.db` and `state.db-wal`) as atrest's input, built by
/// real SQLite in kine's write pattern (`testdata/kine/make_kine_db.py`).
@Suite struct KineEndToEndTests {
    func json(_ text: String) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
    }

    func audit(_ files: GeneratedKine.Files, _ extra: [String] = []) throws -> [String: Any] {
        let result = try AtRestBinary.run(["audit", files.database, "--config", files.config, "--output", "json"] + extra)
        #expect([0, 1].contains(result.status), "\(result.stderr)")
        return try json(result.stdout)
    }

    /// Per-key verdicts from the JSON findings.
    func findings(_ document: [String: Any]) throws -> [String: String] {
        var verdicts: [String: String] = [:]
        for entry in document["findings"] as? [[String: Any]] ?? [] {
            if let key = entry["key"] as? String, let verdict = entry["verdict"] as? String { verdicts[key] = verdict }
        }
        return verdicts
    }

    @Test func liveStateIsEachNamesNewestRowUnlessDeleted() throws {
        let dir = try Fixtures.temporaryDirectory("kine")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try GeneratedKine.make(in: dir)
        let result = try AtRestBinary.run(["stats", files.database, "--output", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let document = try json(result.stdout)
        let provenance = try #require(document["input"] as? [String: Any])
        let counts = try #require(provenance["counts"] as? [String: Any])
        // health, a, b, c, e, cm, f; d is deleted; compact_rev_key and gap-15 are not data.
        #expect(counts["liveKeys"] as? Int == 7)
        let input = try #require((provenance["inputs"] as? [[String: Any]])?.first)
        #expect(input["format"] as? String == "kine-sqlite")
        #expect(input["revision"] as? Int == 16)
        #expect(input["finishedCompactRevision"] as? Int == 11)
        let kine = try #require(input["kine"] as? [String: Any])
        #expect(kine["rows"] as? Int == 12)
        #expect(kine["compactRevKeyRows"] as? Int == 1)
        #expect(kine["gapRows"] as? Int == 1)
        // old_value of 8, 9, 11, 12 and the delete row 14.
        #expect(kine["oldValueCopies"] as? Int == 5)
    }

    @Test func everyLiveEntryGetsItsVerdict() throws {
        let dir = try Fixtures.temporaryDirectory("kine")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try GeneratedKine.make(in: dir)
        let result = try AtRestBinary.run(["audit", files.database, "--config", files.config, "--output", "jsonl"])
        #expect(result.status == 1, "\(result.stderr)")
        var verdicts: [String: String] = [:]
        for line in result.stdout.split(separator: "\n") {
            let entry = try json(String(line))
            if let key = entry["key"] as? String, let verdict = entry["verdict"] as? String { verdicts[key] = verdict }
        }
        #expect(verdicts["/registry/secrets/default/a"] == "current")
        #expect(verdicts["/registry/secrets/default/b"] == "current")
        #expect(verdicts["/registry/secrets/default/c"] == "current")
        #expect(verdicts["/registry/secrets/default/e"] == "current")
        // Written after the last checkpoint: only in state.db-wal.
        #expect(verdicts["/registry/secrets/default/f"] == "unencrypted")
        #expect(verdicts["/registry/secrets/default/d"] == nil)
        #expect(verdicts["/registry/configmaps/default/cm"] != nil)
        #expect(verdicts["compact_rev_key"] == nil)
        #expect(verdicts["gap-15"] == nil)
    }

    @Test func historyReportsEverySurvivingWeakerRevisionAndWhereItSits() throws {
        let dir = try Fixtures.temporaryDirectory("kine")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try GeneratedKine.make(in: dir)
        let document = try audit(files, ["--history"])
        let history = try #require(document["history"] as? [String: Any])
        let keys = try #require(history["keys"] as? [[String: Any]])
        var found: [String: [(Int, String, [String])]] = [:]
        for key in keys {
            let name = try #require(key["key"] as? String)
            for revision in key["revisions"] as? [[String: Any]] ?? [] {
                let places = (revision["storedIn"] as? [[String: Any]] ?? []).map { "\($0["column"] as? String ?? "?")@\($0["row"] as? Int ?? -1)" }
                found[name, default: []].append((revision["revision"] as? Int ?? -1, revision["storedAs"] as? String ?? "", places))
            }
        }
        // a: row 3 was compacted; its plaintext survives in the live row's old_value.
        #expect(found["/registry/secrets/default/a"].map { $0.map { "\($0.0) \($0.1) \($0.2)" } } == ["3 plaintext [\"old_value@8\"]"])
        // b: row 4 is still there, and row 12's old_value holds the same bytes: one revision, two places.
        #expect(found["/registry/secrets/default/b"].map { $0.map { "\($0.0) \($0.1) \($0.2)" } } == ["4 plaintext [\"value@4\", \"old_value@12\"]"])
        // c: the first k3s key survives in old_value after rotation and compaction.
        #expect(found["/registry/secrets/default/c"].map { $0.map { "\($0.0) \($0.1) \($0.2)" } } == ["5 aescbc \(GeneratedKine.oldKey) [\"old_value@9\"]"])
        // d: deleted, but its row and the delete row (value and old_value) still hold the plaintext.
        #expect(found["/registry/secrets/default/d"].map { $0.map { "\($0.0) \($0.1) \($0.2)" } } == ["13 plaintext [\"value@13\", \"value+old_value@14\"]"])
        // e: written twice after encryption and compacted: nothing weaker is left.
        #expect(found["/registry/secrets/default/e"] == nil)
        #expect(history["plaintextCopies"] as? Int == 3)
        #expect(history["oldKeyCopies"] as? Int == 1)
        // Each revision once wherever it sits: rows 2, 4, 7, 8, 9, 11, 12, 13, 16, and 3, 5, 10,
        // known only from old_value. Revision 6 is gone: row 6 and row 10 (whose old_value held it) were compacted.
        #expect(history["revisionsAudited"] as? Int == 12)
    }

    @Test func textHistorySaysWhichColumnHoldsTheCopy() throws {
        let dir = try Fixtures.temporaryDirectory("kine")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try GeneratedKine.make(in: dir)
        let result = try AtRestBinary.run(["audit", files.database, "--config", files.config, "--history"])
        #expect(result.status == 1, "\(result.stderr)")
        #expect(result.stdout.contains("3 plaintext (in old_value of row 8)"), "\(result.stdout)")
        #expect(result.stdout.contains("remain in the kine table"))
    }

    @Test func inputFilesStayByteIdenticalAndNothingIsCreatedBesideThem() throws {
        let dir = try Fixtures.temporaryDirectory("kine")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try GeneratedKine.make(in: dir)
        let before = try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted()
        let database = try Data(contentsOf: URL(fileURLWithPath: files.database))
        let wal = try Data(contentsOf: URL(fileURLWithPath: files.wal))
        #expect(!wal.isEmpty)
        for arguments in [["stats", files.database], ["audit", files.database, "--config", files.config, "--history"],
                          ["plan", files.database, "--config", files.config, "--proposed", files.config], ["inspect", files.database, "/registry/secrets/default/a"]] {
            let result = try AtRestBinary.run(arguments)
            #expect([0, 1].contains(result.status), "\(arguments): \(result.stderr)")
        }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir.path).sorted() == before)
        #expect(try Data(contentsOf: URL(fileURLWithPath: files.database)) == database)
        #expect(try Data(contentsOf: URL(fileURLWithPath: files.wal)) == wal)
    }

    @Test func withoutItsWALTheDatabaseLacksTheLatestWrites() throws {
        let dir = try Fixtures.temporaryDirectory("kine")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try GeneratedKine.make(in: dir)
        let alone = dir.appendingPathComponent("alone")
        try FileManager.default.createDirectory(at: alone, withIntermediateDirectories: true)
        let copy = alone.appendingPathComponent("state.db").path
        try FileManager.default.copyItem(atPath: files.database, toPath: copy)
        let result = try AtRestBinary.run(["stats", copy, "--output", "json"])
        #expect(result.status == 0, "\(result.stderr)")
        let provenance = try #require(try json(result.stdout)["input"] as? [String: Any])
        #expect((provenance["counts"] as? [String: Any])?["liveKeys"] as? Int == 6)
        #expect((provenance["inputs"] as? [[String: Any]])?.first?["revision"] as? Int == 15)
    }

    @Test func databaseOnStandardInputIsReadWithoutItsWAL() throws {
        let dir = try Fixtures.temporaryDirectory("kine")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try GeneratedKine.make(in: dir)
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: files.database)))
        let result = try AtRestBinary.run(["stats", "-", "--output", "json"], stdin: bytes)
        #expect(result.status == 0, "\(result.stderr)")
        let provenance = try #require(try json(result.stdout)["input"] as? [String: Any])
        #expect((provenance["counts"] as? [String: Any])?["liveKeys"] as? Int == 6)
    }

    @Test func indexOfAKineDatabaseAnswersLikeTheDatabase() throws {
        let dir = try Fixtures.temporaryDirectory("kine")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try GeneratedKine.make(in: dir)
        let index = dir.appendingPathComponent("index").path
        let built = try AtRestBinary.run(["index", files.database, "--index", index])
        #expect(built.status == 0, "\(built.stderr)")
        let direct = try AtRestBinary.run(["audit", files.database, "--config", files.config, "--history", "--output", "json"])
        let viaIndex = try AtRestBinary.run(["audit", "--index", index, "--config", files.config, "--history", "--output", "json"])
        #expect(direct.status == viaIndex.status)
        #expect(direct.stdout == viaIndex.stdout)
    }

    @Test func truncatedDatabaseExitsTwoNamingTheFile() throws {
        let dir = try Fixtures.temporaryDirectory("kine")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try GeneratedKine.make(in: dir)
        let bytes = try Data(contentsOf: URL(fileURLWithPath: files.database))
        let cut = dir.appendingPathComponent("cut.db").path
        try bytes.prefix(bytes.count / 2).write(to: URL(fileURLWithPath: cut))
        let result = try AtRestBinary.run(["audit", cut, "--config", files.config])
        #expect(result.status == 2)
        #expect(result.stderr.contains("cut.db"), "\(result.stderr)")
        #expect(result.stderr.split(separator: "\n").count == 1, "\(result.stderr)")
    }

    @Test func damagedPagesExitTwoNamingTheFile() throws {
        let dir = try Fixtures.temporaryDirectory("kine")
        defer { try? FileManager.default.removeItem(at: dir) }
        let files = try GeneratedKine.make(in: dir)
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: files.database)))
        // Page 2 onwards (the kine table's b-tree): overwritten with a pattern.
        for i in 4096 ..< min(bytes.count, 12288) { bytes[i] = UInt8(truncatingIfNeeded: i &* 31) }
        let damaged = dir.appendingPathComponent("damaged.db").path
        try Data(bytes).write(to: URL(fileURLWithPath: damaged))
        let result = try AtRestBinary.run(["stats", damaged])
        #expect(result.status == 2)
        #expect(result.stderr.hasPrefix("atrest: damaged.db") || result.stderr.contains("damaged.db:"), "\(result.stderr)")
    }

    @Test func sqliteDatabaseWithoutKineTableIsRefused() throws {
        let dir = try Fixtures.temporaryDirectory("kine")
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("other.db").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", "-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute('create table t(x)'); c.commit()", path]
        try process.run()
        process.waitUntilExit()
        let result = try AtRestBinary.run(["stats", path])
        #expect(result.status == 2)
        #expect(result.stderr.contains("other.db"))
        #expect(result.stderr.contains("kine"), "\(result.stderr)")
    }
}

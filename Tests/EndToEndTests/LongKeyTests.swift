import AtRestTestSupport
import Foundation
import Testing

/// etcd has no key length limit and LMDB's is 511 bytes: a custom resource's key
/// (group up to 253 bytes, plural, namespace, name up to 253) can pass it in a
/// healthy cluster. Such keys are indexed exactly and keep etcd's byte order.
@Suite struct LongKeyTests {
    /// Keys of 511, 512, 4 KiB and 64 KiB bytes, each beside a short sibling that sorts around it.
    private static func keys() -> [String] {
        let group = String(repeating: "g", count: 200) + ".example.com"
        return [511, 512, 4096, 65536].flatMap { length -> [String] in
            let prefix = "/registry/\(group)/widgets/default/"
            let name = String(repeating: "n", count: length - prefix.utf8.count)
            return [prefix + name, prefix + name + "-b", prefix + "a"]
        } + ["/registry/secrets/default/short"]
    }

    @Test(.enabled(if: EtcdServer.shouldRun, "etcd is not installed (set CI=true to make this a failure)"),
          .timeLimit(.minutes(3)))
    func keysOverLMDBsLimitAreAuditedInEtcdsOrderFromJSONAndSnapshot() throws {
        let server = try EtcdServer()
        defer { server.stop() }
        let dir = try Fixtures.temporaryDirectory("long-keys")
        defer { try? FileManager.default.removeItem(at: dir) }
        let keys = Set(Self.keys())
        for key in keys { try server.put(key, Array("k8s\u{0}value of \(key.utf8.count) bytes".utf8)) }
        // etcd lists keys in byte order: that is the order every output must keep.
        let listed = try server.etcdctlChecked(raw: [Array("get".utf8), Array("".utf8), Array("--prefix".utf8), Array("--keys-only".utf8)])
        let expected = String(decoding: listed, as: UTF8.self).split(separator: "\n").map(String.init)
        #expect(Set(expected) == keys)
        #expect(expected.contains { $0.utf8.count == 65536 })

        let json = dir.appendingPathComponent("export.json")
        try Data(try server.etcdctlChecked(raw: [Array("get".utf8), Array("".utf8), Array("--prefix".utf8), Array("-w".utf8), Array("json".utf8)])).write(to: json)
        let snapshot = dir.appendingPathComponent("snapshot.db").path
        try server.snapshotSave(to: snapshot)

        for input in [json.path, snapshot] {
            let result = try AtRestBinary.run(["audit", "--feature-gates", "KMSv1=true", input, "--config", Fixtures.path("audit/config.yaml"), "--output", "jsonl", "--exit-zero"])
            #expect(result.status == 0, "\(input): \(result.stderr)")
            let audited = try result.stdout.split(separator: "\n").map { line in
                try #require(JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])["key"] as? String
            }
            #expect(audited == expected, "\(input)")
        }

        let index = dir.appendingPathComponent("idx").path
        let indexed = try AtRestBinary.run(["index", snapshot, "--index", index])
        #expect(indexed.status == 0, "\(indexed.stderr)")
        let longest = try #require(expected.first { $0.utf8.count == 65536 })
        let inspected = try AtRestBinary.run(["inspect", "--feature-gates", "KMSv1=true", "--index", index, longest, "--raw"])
        #expect(inspected.status == 0, "\(inspected.stderr)")
        // `--raw` is the stored value as `hexdump -C` prints it: "k8s\0value of 65536 bytes".
        #expect(inspected.stdout.hasPrefix("00000000  6b 38 73 00 76 61 6c 75  65 20 6f 66 20 36 35 35  |k8s.value of 655|\n00000010  33 36 20 62 79 74 65 73"))
    }
}

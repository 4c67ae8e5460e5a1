import Foundation

/// An etcdctl `-w json` export of many entries, made from the values of the
/// audit fixture (`testdata/audit/entries.json`, encrypted for `config.yaml`), for tests that need more entries
/// than a fixture should hold (several audit batches, several key ranges).
///
/// Keys are `/registry/<secrets|configmaps>/ns-NNN/obj-NNNNNN`, written in
/// ascending byte order as etcd lists them; values cycle through the fixture's.
/// Values that were aesgcm-encrypted under another key no longer authenticate
/// (the key is the additional data), so the export holds every verdict.
public enum GeneratedExport {
    public static func write(entries: Int, to path: String) throws {
        let fixture = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Fixtures.path("audit/entries.json")))) as? [[String: Any]]
        let values = (fixture ?? []).map { ($0["value"] as? String) ?? "" }
        precondition(!values.isEmpty, "testdata/audit/entries.json holds no values")
        var keys: [String] = []
        for resource in ["configmaps", "secrets"] {
            for index in 0..<(entries / 2 + entries % 2) where keys.count < entries {
                keys.append(String(format: "/registry/%@/ns-%03d/obj-%06d", resource, index / 500, index))
            }
        }
        var out = #"{"header":{"cluster_id":1,"member_id":2,"revision":\#(entries + 1),"raft_term":2},"kvs":["#
        for (index, key) in keys.enumerated() {
            if index > 0 { out += "," }
            let encodedKey = Data(key.utf8).base64EncodedString()
            out += #"{"key":"\#(encodedKey)","create_revision":\#(index + 2),"mod_revision":\#(index + 2),"version":1,"value":"\#(values[index % values.count])"}"#
        }
        out += #"],"count":\#(keys.count)}"#
        try Data(out.utf8).write(to: URL(fileURLWithPath: path))
    }
}

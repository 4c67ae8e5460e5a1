/// The export formats atrest reads. Detected from the content, never from the file name.
public enum ExportFormat: String, Sendable, Hashable, Codable, CaseIterable {
    /// `etcdctl get "" --prefix -w json` (bare integers), one or more documents.
    case etcdctlJSON = "etcdctl-json"
    /// The grpc-gateway `/v3/kv/range` JSON, whose 64-bit integers are strings.
    case gatewayJSON = "grpc-gateway-json"
    /// `etcdctl get -w fields`: Go-quoted keys and values, lossless.
    case fields = "etcdctl-fields"
    /// `etcdctl get --prefix --hex`: `\xNN` keys and values, one per line, lossless.
    case hex = "etcdctl-hex"
    /// `etcdctl get --prefix` default output: accepted only when unambiguous.
    case simple = "etcdctl-simple"
    /// `etcdctl snapshot save` output: a bbolt file with a sha256 trailer.
    case snapshot = "etcd-snapshot"
    /// A bbolt file copied from `member/snap/db`: no trailer.
    case bboltDB = "etcd-bbolt-db"
    /// k3s's kine datastore: a SQLite database with the table `kine` (`state.db`).
    case kine = "kine-sqlite"

    /// Whether the format carries every revision, not only the latest state.
    public var hasHistory: Bool { self == .snapshot || self == .bboltDB || self == .kine }
}

internal import CSQLite

/// The database library linked into this binary (it reads k3s's kine datastore),
/// for `atrest --version`.
public enum DumpLibraries {
    /// SQLite's version, e.g. `3.40.1`.
    public static var sqlite: String { String(cString: sqlite3_libversion()) }
}

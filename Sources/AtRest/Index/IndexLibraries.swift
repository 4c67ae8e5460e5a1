/// The store library linked into this binary, for `atrest --version`.
public enum IndexLibraries {
    /// LMDB's version line, e.g. `LMDB 0.9.24: (July 24, 2019)`.
    public static var lmdb: String { LMDBEnvironment.versionText }
}

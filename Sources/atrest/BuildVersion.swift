internal import CBuildInfo
import AtRestDump
import AtRestEncryption
import AtRestIndex

/// What `atrest --version` prints: the release, the commit it was built from,
/// and the C libraries linked in. A packaged binary carries its own OpenSSL,
/// libsodium, LMDB and SQLite, so these, not the host's packages, are what a bug report needs.
enum BuildVersion {
    static let release = "0.1.0"

    static var commit: String { String(cString: atrest_build_commit()) }

    static var text: String {
        """
        atrest \(release)
        commit \(commit)
        \(CryptoLibraries.openSSL)
        libsodium \(CryptoLibraries.libsodium)
        \(IndexLibraries.lmdb)
        SQLite \(DumpLibraries.sqlite)
        """
    }
}

/// The C libraries the decryptors run on, as linked into this binary, for
/// `atrest --version`: a static build carries its own copies, so the versions a
/// bug report needs are the linked ones, not the host's packages.
public enum CryptoLibraries {
    /// OpenSSL's own version line, e.g. `OpenSSL 3.0.17 1 Jul 2025`.
    public static var openSSL: String { OpenSSLSupport.versionText }

    /// libsodium's version, e.g. `1.0.18`.
    public static var libsodium: String { SodiumSecretBoxBackend.versionText }
}

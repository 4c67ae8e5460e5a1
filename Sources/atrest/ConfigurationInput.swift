import AtRestDump
import AtRestEncryption
import AtRestReport
import Foundation

/// The `--config`-style files of the commands: loaded the way the apiserver
/// would accept them, and identified in reports by their SHA-256 only (they hold keys).
enum ConfigurationInput {
    /// The configuration at `path` under `rules`, or a one-line failure (status 2).
    static func load(_ path: String, rules: KubernetesRules) throws -> EncryptionConfiguration {
        try EncryptionConfiguration(contentsOf: path, rules: rules)
    }

    /// The path and the SHA-256 of the file's bytes.
    static func file(_ path: String) -> ConfigurationFile {
        let sha256 = (try? Data(contentsOf: URL(fileURLWithPath: path))).map { SHA256.hash(Array($0)).hexString } ?? ""
        return ConfigurationFile(path: path, sha256: sha256)
    }
}

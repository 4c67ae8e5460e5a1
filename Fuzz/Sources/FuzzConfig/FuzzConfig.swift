/// EncryptionConfiguration files, YAML or JSON: decoding, strict field checks,
/// validation and building the configuration, as `atrest config check` runs them.
import AtRestEncryption
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let input = [UInt8](bytes(data, size))
    do {
        let check = try EncryptionConfigurationLoader.check(bytes: input, sourcePath: "fuzz.yaml", fileMode: 0o644)
        for finding in check.findings { expectOneLine(finding.description) }
        if check.hasErrors != (check.configuration == nil) {
            fatalError("a configuration was built despite errors, or none without them")
        }
    } catch {
        expectOneLine(error.description)
    }
    return 0
}

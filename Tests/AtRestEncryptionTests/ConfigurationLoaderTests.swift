import AtRestEncryption
import AtRestTestSupport
import Foundation
import Testing

/// Reading EncryptionConfiguration files: kinds, formats, strict decoding, defaults, hostile input.
@Suite struct ConfigurationLoaderTests {
    @Test func aesgcmWithIdentityLoadsInOrderWithDecodedKey() throws {
        let check = try checkConfig("valid/aesgcm-identity.yaml")
        #expect(check.findings.isEmpty)
        let configuration = try #require(check.configuration)
        #expect(configuration.rules.count == 1)
        #expect(configuration.rules[0].resources == ["secrets", "configmaps"])
        #expect(configuration.rules[0].providers.map(\.typeName) == ["aesgcm", "identity"])
        let key = try #require(configuration.rules[0].providers[0].keys.first)
        #expect(key.name == "key1")
        #expect(key.secret.withUnsafeBytes { Array($0) } == Array("abcdefghijklmnopqrstuvwxyz123456".utf8))
    }

    @Test func secretboxLoads() throws {
        let configuration = try #require(try checkConfig("valid/secretbox.yaml").configuration)
        #expect(configuration.rules[0].providers.map(\.typeName) == ["secretbox"])
        #expect(configuration.rules[0].providers[0].keys.first?.secret.count == 32)
    }

    @Test func kmsV2LoadsWithItsTimeoutAndNoCacheSize() throws {
        let configuration = try #require(try checkConfig("valid/kms-v2.yaml").configuration)
        guard case .kms(let kms) = configuration.rules[0].providers[0] else {
            Issue.record("expected a kms provider")
            return
        }
        #expect(kms == KMSConfiguration(apiVersion: .v2, name: "vault", endpoint: "unix:///var/run/kms.sock", cacheSize: nil, timeout: .seconds(10)))
        #expect(kms.cacheSize == nil)
    }

    @Test func kmsWithoutApiVersionDefaultsToV1WithCacheSize1000AndTimeout3s() throws {
        let configuration = try #require(try checkConfig("versions/kms-v1-defaults.yaml", rules: kubernetes(36, [.kmsV1: true])).configuration)
        guard case .kms(let kms) = configuration.rules[0].providers[0] else {
            Issue.record("expected a kms provider")
            return
        }
        #expect(kms.apiVersion == .v1)
        #expect(kms.cacheSize == 1000)
        #expect(kms.timeout == .seconds(3))
    }

    @Test func keyNamesMayContainColons() throws {
        let configuration = try #require(try checkConfig("valid/key-name-colon.yaml").configuration)
        #expect(configuration.rules[0].providers[0].keys.map(\.name) == ["key:1"])
    }

    @Test func aesKeysOf16And24And32BytesAreAccepted() throws {
        let check = try checkConfig("valid/key-sizes.yaml")
        #expect(check.findings.isEmpty)
        #expect(try #require(check.configuration).rules[0].providers[0].keys.map(\.secret.count) == [16, 24, 32])
    }

    @Test func legacyEncryptionConfigKindIsAccepted() throws {
        let check = try checkConfig("valid/legacy.yaml")
        #expect(check.findings.isEmpty)
        #expect(check.configuration != nil)
    }

    @Test func jsonIsAccepted() throws {
        let check = try checkConfig("valid/config.json")
        #expect(check.findings.isEmpty)
        #expect(try #require(check.configuration).rules[0].providers.map(\.typeName) == ["aesgcm", "identity"])
    }

    @Test func encryptionConfigurationKindUnderCoreV1IsRefused() throws {
        #expect {
            _ = try checkConfig("invalid/wrong-kind.yaml")
        } throws: { error in
            let error = error as? ConfigurationLoadError
            return error?.line == 1 && error?.message.contains(#"apiVersion "v1" kind "EncryptionConfiguration""#) == true
        }
    }

    @Test func yamlSyntaxErrorIsOneLineWithFileAndLine() throws {
        do {
            _ = try checkConfig("invalid/not-yaml.yaml")
            Issue.record("expected a load error")
        } catch let error as ConfigurationLoadError {
            #expect(error.description.hasPrefix("invalid/not-yaml.yaml:"))
            #expect(error.line != nil)
            #expect(!error.description.contains("\n"))
        }
    }

    @Test func unknownFieldIsAStrictDecodingErrorWithItsPath() throws {
        let check = try checkConfig("invalid/unknown-field.yaml")
        let finding = try #require(check.findings.first)
        #expect(finding.description == #"resources[0].providers[0].kms.pandas: strict decoding error: unknown field "resources[0].providers[0].kms.pandas""#)
        #expect(finding.line == 10)
        #expect(check.configuration == nil)
    }

    @Test func duplicateFieldIsAnErrorWithItsLine() throws {
        do {
            _ = try checkConfig("invalid/duplicate-field.yaml")
            Issue.record("expected a load error")
        } catch let error as ConfigurationLoadError {
            #expect(error.description == #"invalid/duplicate-field.yaml:8: strict decoding error: duplicate field "name""#)
        }
    }

    @Test func scalarWhereAListBelongsIsATypeError() throws {
        #expect(try configErrors("invalid/wrong-type.yaml") == ["resources[0].resources: cannot unmarshal string into a field of type array"])
    }

    @Test func emptyFileIsRefusedWithTheApiserversMessage() throws {
        #expect(throws: ConfigurationLoadError.self) {
            _ = try EncryptionConfigurationLoader.check(bytes: [], sourcePath: "empty.yaml")
        }
    }

    @Test func fileLargerThanOneMebibyteIsRefusedUnparsedAtTheLimit() throws {
        let bytes = [UInt8](repeating: UInt8(ascii: "#"), count: EncryptionConfigurationLoader.maximumFileSize + 1)
        let error = loadError { _ = try EncryptionConfigurationLoader.check(bytes: bytes, sourcePath: "big.yaml") }
        #expect(error?.description == "big.yaml: byte 1048576: larger than 1 MiB; not an encryption configuration (real ones are a few KiB)")
    }

    @Test func configurationWithAMillionKeysIsRefusedBySizeBeforeParsing() throws {
        let yaml = "apiVersion: v1\nkind: EncryptionConfig\nresources:\n" + (0..<1_000_000).map { "  - {resources: [r\($0)]}\n" }.joined()
        let clock = ContinuousClock()
        var error: ConfigurationLoadError?
        let elapsed = clock.measure { error = loadError { _ = try EncryptionConfigurationLoader.check(bytes: Array(yaml.utf8), sourcePath: "many.yaml") } }
        #expect(error?.byteOffset == EncryptionConfigurationLoader.maximumFileSize)
        #expect(elapsed < .seconds(5))
    }

    @Test func bytesThatAreNotUTF8AreRefusedAtTheirOffsetAndLine() throws {
        // "secrets" with a Latin-1 é, as an editor set to ISO-8859-1 would save it.
        let bytes = Array("apiVersion: v1\nkind: EncryptionConfig\nresources:\n  - resources: [secr".utf8) + [0xE9] + Array("ts]\n".utf8)
        let error = loadError { _ = try EncryptionConfigurationLoader.check(bytes: bytes, sourcePath: "latin1.yaml") }
        #expect(error?.description == "latin1.yaml: line 4 (byte 69): not valid UTF-8")
    }

    @Test func jsonThatIsNotUTF8IsRefusedToo() throws {
        let bytes = Array(#"{"apiVersion":"v1","kind":"EncryptionConfig","resources":[{"resources":["secrets"],"providers":[{"aescbc":{"keys":[{"name":"k"#.utf8)
            + [0xFF] + Array(#"","secret":"c2VjcmV0IGlzIHNlY3VyZQ=="}]}}]}]}"#.utf8)
        let error = loadError { _ = try EncryptionConfigurationLoader.check(bytes: bytes, sourcePath: "bad.json") }
        #expect(error?.byteOffset == 125)
        #expect(error?.line == 1)
        #expect(error?.message == "not valid UTF-8")
    }

    @Test func deeplyNestedFlowYamlIsRefusedWithItsLine() throws {
        let yaml = "apiVersion: v1\nkind: EncryptionConfig\nresources: " + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        let error = loadError { _ = try EncryptionConfigurationLoader.check(bytes: Array(yaml.utf8), sourcePath: "deep.yaml") }
        #expect(error?.description == "deep.yaml:3: invalid YAML: nested deeper than 1000 levels")
    }

    @Test func deeplyNestedBlockYamlIsRefusedWithItsLine() throws {
        let yaml = "apiVersion: v1\nkind: EncryptionConfig\nresources:\n" + String(repeating: "- ", count: 400_000) + "x\n"
        let error = loadError { _ = try EncryptionConfigurationLoader.check(bytes: Array(yaml.utf8), sourcePath: "deep.yaml") }
        #expect(error?.line == 4)
        #expect(error?.message == "invalid YAML: nested deeper than 1000 levels")
    }

    @Test func aliasBombIsRefusedQuickly() throws {
        // 100 rules x 100 providers x 100 keys through aliases: a million keys from a few KiB.
        func many(_ alias: String) -> String { "[" + Array(repeating: "*\(alias)", count: 100).joined(separator: ", ") + "]" }
        let yaml = """
            apiVersion: v1
            kind: EncryptionConfig
            resources:
              - &r {resources: [secrets], providers: [&p {aesgcm: {keys: [&k {name: a, secret: c2VjcmV0IGlzIHNlY3VyZQ==}]}}]}
              - {resources: [configmaps], providers: [{aesgcm: {keys: \(many("k"))}}]}
              - {resources: [pods], providers: \(many("p"))}
            """
        let bomb = yaml
            + "\n  - {resources: [nodes], providers: [&q {aesgcm: {keys: \(many("k"))}}]}"
            + "\n  - {resources: [services], providers: \(many("q"))}"
            + "\n  - &s {resources: [endpoints], providers: \(many("q"))}"
            + "\n" + Array(repeating: "  - *s", count: 100).joined(separator: "\n") + "\n"
        let clock = ContinuousClock()
        let elapsed = try clock.measure {
            do {
                _ = try EncryptionConfigurationLoader.check(bytes: Array(bomb.utf8), sourcePath: "bomb.yaml")
                Issue.record("expected a load error")
            } catch let error as ConfigurationLoadError {
                #expect(error.message.contains("YAML nodes"))
            }
        }
        #expect(elapsed < .seconds(10))
    }

    @Test func loadingThroughTheInitializerRefusesAnInvalidFile() throws {
        #expect(throws: ConfigurationLoadError.self) {
            _ = try EncryptionConfiguration(contentsOf: Fixtures.path("configs/invalid/aesgcm-short-secret.yaml"))
        }
        let configuration = try EncryptionConfiguration(contentsOf: Fixtures.path("configs/valid/secretbox.yaml"))
        #expect(configuration.sourcePath == Fixtures.path("configs/valid/secretbox.yaml"))
    }

    @Test func noFindingOrErrorContainsTheBase64Secret() throws {
        let secret = "YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXoxMjM0NTY="
        let short = "MTIzNDU2Nzg="
        var texts: [String] = []
        for name in ["invalid/two-providers.yaml", "invalid/aesgcm-short-secret.yaml", "invalid/secret-not-base64.yaml",
                     "warnings/duplicate-key-names.yaml", "valid/aesgcm-identity.yaml"] {
            let check = try checkConfig(name)
            texts += check.findings.map(\.description)
            if let configuration = check.configuration {
                texts.append(String(describing: configuration))
                texts.append(String(reflecting: configuration))
            }
        }
        do {
            _ = try EncryptionConfiguration(contentsOf: Fixtures.path("configs/invalid/aesgcm-short-secret.yaml"))
        } catch {
            texts.append(error.description)
        }
        #expect(!texts.isEmpty)
        for text in texts {
            #expect(!text.contains(secret) && !text.contains(short) && !text.contains("YWJjZGVmZ2hp"), "\(text)")
        }
    }

    /// The load error `body` throws, or nil.
    private func loadError(_ body: () throws -> Void) -> ConfigurationLoadError? {
        do {
            try body()
            return nil
        } catch let error as ConfigurationLoadError {
            return error
        } catch {
            Issue.record("unexpected error \(error)")
            return nil
        }
    }
}

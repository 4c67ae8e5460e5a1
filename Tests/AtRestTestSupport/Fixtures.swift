import Foundation

/// Paths to the repository's `testdata/` and to scratch space, for tests.
public enum Fixtures {
    /// The repository root, found from this file's location.
    public static let root: URL = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // AtRestTestSupport
        .deletingLastPathComponent()  // Tests
        .deletingLastPathComponent()

    /// A file under `testdata/`.
    public static func path(_ relative: String) -> String {
        root.appendingPathComponent("testdata").appendingPathComponent(relative).path
    }

    /// The bytes of a file under `testdata/`.
    public static func bytes(_ relative: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path(relative))))
    }

    /// A fresh, private temporary directory; each test gets its own (LMDB forbids
    /// opening one environment twice in a process, and tests run in parallel).
    public static func temporaryDirectory(_ label: String = "test") throws -> URL {
        let url = FileManager.default.temporaryDirectory
            .appendingPathComponent("atrest-\(label)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true,
                                                attributes: [.posixPermissions: 0o700])
        return url
    }
}

import COpenSSL

/// Key material. Never printed: `description` is redacted, and the bytes are
/// wiped (`OPENSSL_cleanse`) when the last copy goes away.
public final class SecretBytes: @unchecked Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    // Immutable after init; safe to share across threads for reading.
    private var storage: [UInt8]

    public init(_ bytes: [UInt8]) {
        storage = bytes
    }

    deinit {
        let count = storage.count
        storage.withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress { OPENSSL_cleanse(base, count) }
        }
    }

    public var count: Int { storage.count }

    /// Lends the bytes to `body`; they must not escape it.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes(body)
    }

    public var description: String { "<\(count)-byte secret, redacted>" }
    public var debugDescription: String { description }
}

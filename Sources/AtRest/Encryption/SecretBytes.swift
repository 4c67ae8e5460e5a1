internal import COpenSSL

/// Key material and decrypted plaintext. Never printed: `description` is
/// redacted, and the bytes are wiped (`OPENSSL_cleanse`) when the last reference
/// goes away. Built from an array, it takes over the array's storage (no copy
/// is left behind when the caller's array was its only owner).
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

    /// Wipes a working copy of secret bytes in place (for code that needs an array).
    public static func wipe(_ bytes: inout [UInt8]) {
        let count = bytes.count
        bytes.withUnsafeMutableBytes { raw in
            if let base = raw.baseAddress { OPENSSL_cleanse(base, count) }
        }
    }

    /// Lends the bytes to `body`; they must not escape it.
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try storage.withUnsafeBytes(body)
    }

    /// Constant-time comparison with `bytes` (`CRYPTO_memcmp`), so that checking a
    /// secret does not leak where it differs.
    public func matches(_ bytes: [UInt8]) -> Bool {
        guard bytes.count == storage.count else { return false }
        guard !bytes.isEmpty else { return true }
        return storage.withUnsafeBytes { mine in
            bytes.withUnsafeBytes { theirs in CRYPTO_memcmp(mine.baseAddress, theirs.baseAddress, bytes.count) == 0 }
        }
    }

    public var description: String { "<\(count)-byte secret, redacted>" }
    public var debugDescription: String { description }
}

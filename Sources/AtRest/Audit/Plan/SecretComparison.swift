import AtRestEncryption

extension SecretBytes {
    /// Whether two keys hold the same bytes, compared in constant time for equal lengths,
    /// so that comparing host configurations never becomes a timing oracle on key
    /// material. Only the answer leaves this function, never the bytes.
    func hasSameBytes(as other: SecretBytes) -> Bool {
        guard count == other.count else { return false }
        return withUnsafeBytes { a in
            other.withUnsafeBytes { b in
                var difference: UInt8 = 0
                for i in 0..<a.count { difference |= a[i] ^ b[i] }
                return difference == 0
            }
        }
    }
}

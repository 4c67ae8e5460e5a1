import AtRestEncryption

/// Lets vector tests compare decrypted plaintext with the expected bytes directly.
func == (lhs: SecretBytes, rhs: [UInt8]) -> Bool { lhs.matches(rhs) }

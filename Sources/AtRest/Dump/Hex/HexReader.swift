/// Streams `etcdctl get --prefix --hex` output into a sink.
///
/// etcdctl `printer_simple.go` → `util.go printKV` with `--hex` prints every byte
/// of the key, then of the value, as `\xNN`, each followed by `\n`
/// (`addHexPrefix(hex.EncodeToString(...))`). So lines alternate key / value and
/// an empty line is an empty value. Lossless for keys and values; there are no
/// revisions nor leases (left 0) and no count (completeness is unverifiable).
/// Any line that is not made only of `\xNN` (either hex case) is `.malformedLine`.
struct HexReader {
    let stream: ByteStream

    init(stream: ByteStream) {
        self.stream = stream
    }

    /// Reads all pairs; returns the number of keys read.
    func read<S: DumpSink>(into sink: inout S, guard keys: inout PageKeyGuard) throws -> Int64 {
        var lineNumber = 0
        var pendingKey: [UInt8]?
        var keyLocation = Location.file
        var received: Int64 = 0
        keys.beginPage()
        while let line = try stream.nextLine() {
            lineNumber += 1
            let location = Location.line(lineNumber, byte: line.offset)
            guard line.terminated else {
                throw DumpError(.truncated, file: stream.name, at: location, "the last line has no newline: the output was cut")
            }
            guard let bytes = HexReader.decodeLine(line.bytes) else {
                throw DumpError(.malformedLine, file: stream.name, at: location, "expected only \\xNN byte escapes (etcdctl --hex output)")
            }
            if let key = pendingKey {
                pendingKey = nil
                received += 1
                if keys.admit(key) {
                    try sink.live(KeyValue(key: key, value: bytes))
                } else {
                    try sink.refused(Refusal(reason: .duplicateKey, file: stream.name, location: keyLocation, key: key))
                }
            } else {
                guard !bytes.isEmpty else {
                    throw DumpError(.malformedLine, file: stream.name, at: location, "empty key line (etcd keys are never empty)")
                }
                pendingKey = bytes
                keyLocation = location
            }
        }
        if pendingKey != nil {
            throw DumpError(.truncated, file: stream.name, at: keyLocation, "a key line has no value line after it")
        }
        if lineNumber == 0 {
            throw DumpError(.unknownFormat, file: stream.name, at: .file, "empty input")
        }
        keys.endPage()
        return received
    }

    /// Decodes a line of `\xNN` groups; nil if it is anything else.
    static func decodeLine(_ line: UnsafeRawBufferPointer) -> [UInt8]? {
        let n = line.count
        guard n % 4 == 0 else { return nil }
        var valid = true
        let out = [UInt8](unsafeUninitializedCapacity: n / 4) { buffer, initialized in
            var i = 0
            var o = 0
            while i < n {
                guard line[i] == 0x5C, line[i + 1] == 0x78,
                      let high = hexValue(line[i + 2]), let low = hexValue(line[i + 3]) else {
                    valid = false
                    break
                }
                buffer[o] = high << 4 | low
                o += 1
                i += 4
            }
            initialized = o
        }
        return valid ? out : nil
    }
}

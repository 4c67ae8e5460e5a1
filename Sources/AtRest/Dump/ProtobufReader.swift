/// A minimal protobuf wire-format reader: fields one at a time, no schema.
///
/// Why hand-written: atrest decodes only a few small messages (`mvccpb.KeyValue`
/// from snapshots, KMS v2 `EncryptedObject`) and must not depend on a protobuf
/// runtime; and a hostile input must give an error, never a trap. Wire format per
/// https://protobuf.dev/programming-guides/encoding/. Groups (wire types 3, 4) are
/// deprecated and unused by etcd and Kubernetes, so they are an error.
///
/// The reader does not own its bytes: it and every `.bytes` value it returns are
/// valid only while the buffer it was created over is (use ``withReader(over:_:)``
/// for arrays).
public struct ProtobufReader {
    /// One decoded field.
    public struct Field {
        public var number: UInt32
        public var value: Value
        /// Byte offset of the field's tag in the message.
        public var offset: Int
    }

    /// A field value, by wire type.
    public enum Value {
        case varint(UInt64)
        case fixed64(UInt64)
        /// Length-delimited: bytes, strings and embedded messages; a view into the reader's buffer.
        case bytes(UnsafeRawBufferPointer)
        case fixed32(UInt32)

        /// The value as protobuf `int64`/`uint64`-as-signed: negative numbers are 10-byte varints (two's complement).
        public var int64: Int64? {
            if case .varint(let raw) = self { return Int64(bitPattern: raw) }
            return nil
        }

        public var uint64: UInt64? {
            if case .varint(let raw) = self { return raw }
            return nil
        }

        public var bytes: UnsafeRawBufferPointer? {
            if case .bytes(let view) = self { return view }
            return nil
        }
    }

    private let buffer: UnsafeRawBufferPointer
    /// Offset of the next field.
    public private(set) var offset: Int = 0

    public init(_ bytes: UnsafeRawBufferPointer) {
        self.buffer = bytes
    }

    /// Runs `body` with a reader over `bytes`.
    public static func withReader<R>(over bytes: [UInt8], _ body: (inout ProtobufReader) throws -> R) rethrows -> R {
        try bytes.withUnsafeBytes { raw in
            var reader = ProtobufReader(raw)
            return try body(&reader)
        }
    }

    /// The next field, or `nil` at the end of the message. Unknown fields are
    /// returned like any other; a caller skips them by ignoring them.
    public mutating func next() throws(ProtobufError) -> Field? {
        guard offset < buffer.count else { return nil }
        let start = offset
        let tag = try readVarint()
        guard tag >> 3 <= UInt64(UInt32.max >> 3), tag >> 3 != 0 else {
            throw ProtobufError(offset: start, message: "invalid field number \(tag >> 3)")
        }
        let number = UInt32(tag >> 3)
        switch tag & 7 {
        case 0:
            return Field(number: number, value: .varint(try readVarint()), offset: start)
        case 1:
            guard buffer.count - offset >= 8 else { throw ProtobufError(offset: start, message: "fixed64 field \(number) runs past the end") }
            let value = UInt64(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
            offset += 8
            return Field(number: number, value: .fixed64(value), offset: start)
        case 2:
            let length = try readVarint()
            guard length <= UInt64(buffer.count - offset) else {
                throw ProtobufError(offset: start, message: "field \(number) declares \(length) bytes but only \(buffer.count - offset) remain")
            }
            let end = offset + Int(length)
            let view = UnsafeRawBufferPointer(rebasing: buffer[offset..<end])
            offset = end
            return Field(number: number, value: .bytes(view), offset: start)
        case 5:
            guard buffer.count - offset >= 4 else { throw ProtobufError(offset: start, message: "fixed32 field \(number) runs past the end") }
            let value = UInt32(littleEndian: buffer.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
            offset += 4
            return Field(number: number, value: .fixed32(value), offset: start)
        default:
            throw ProtobufError(offset: start, message: "unsupported wire type \(tag & 7) for field \(number)")
        }
    }

    /// A base-128 varint of at most 10 bytes whose value fits in 64 bits.
    private mutating func readVarint() throws(ProtobufError) -> UInt64 {
        let start = offset
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while offset < buffer.count {
            let byte = buffer[offset]
            offset += 1
            if shift == 63, byte > 1 {
                throw ProtobufError(offset: start, message: "varint overflows 64 bits")
            }
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
            if shift > 63 { throw ProtobufError(offset: start, message: "varint longer than 10 bytes") }
        }
        throw ProtobufError(offset: start, message: "varint runs past the end")
    }
}

/// A message that is not valid protobuf wire format; `offset` is relative to the message.
public struct ProtobufError: Error, Sendable, Hashable, CustomStringConvertible {
    public var offset: Int
    public var message: String

    public init(offset: Int, message: String) {
        self.offset = offset
        self.message = message
    }

    public var description: String { "byte \(offset) of the message: \(message)" }
}

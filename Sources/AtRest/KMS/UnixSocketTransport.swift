import Foundation
import Synchronization
internal import GRPCCore
internal import NIOCore
internal import NIOHPACK
internal import NIOHTTP2
internal import NIOPosix

/// gRPC's HTTP/2 client transport (the protocol of
/// https://github.com/grpc/grpc/blob/master/doc/PROTOCOL-HTTP2.md) on a unix domain
/// socket, without TLS, as KMS plugins serve it.
///
/// grpc-swift-nio-transport does this too, but its only Linux product also links
/// swift-nio-ssl and swift-certificates (two copies of BoringSSL); a KMS socket is
/// never TLS, and building them tripled the build time (docs/kms.md). This is the
/// part of it atrest needs: unary and streaming calls over swift-nio-http2, one
/// connection per call (atrest makes a handful of calls per run: one per distinct
/// DEK source).
struct UnixSocketTransport: ClientTransport {
    typealias Bytes = [UInt8]

    /// The socket's path (the endpoint without `unix://`).
    let path: String
    /// How long a connection may take to open.
    let connectTimeout: TimeAmount

    /// Ends `connect()` when the client shuts down.
    private let shutdown: (stream: AsyncStream<Void>, continuation: AsyncStream<Void>.Continuation)

    init(path: String, connectTimeout: TimeAmount) {
        self.path = path
        self.connectTimeout = connectTimeout
        shutdown = AsyncStream<Void>.makeStream()
    }

    var retryThrottle: RetryThrottle? { nil }

    /// Connections are made per call, so there is nothing to run; the client stays
    /// usable while this waits, until it shuts down.
    func connect() async throws {
        for await _ in shutdown.stream {}
    }

    func beginGracefulShutdown() { shutdown.continuation.finish() }

    func config(forMethod descriptor: MethodDescriptor) -> MethodConfig? { nil }

    func withStream<T: Sendable>(
        descriptor: MethodDescriptor,
        options: CallOptions,
        _ closure: (_ stream: RPCStream<Inbound, Outbound>, _ context: ClientContext) async throws -> T
    ) async throws -> T {
        let connectionError = ConnectionError()
        let (channel, multiplexer) = try await openConnection(connectionError)
        defer { channel.close(promise: nil) }
        let stream: NIOAsyncChannel<HTTP2Frame.FramePayload, HTTP2Frame.FramePayload>
        do {
            stream = try await multiplexer.openStream { child in
                child.eventLoop.makeCompletedFuture {
                    try NIOAsyncChannel<HTTP2Frame.FramePayload, HTTP2Frame.FramePayload>(wrappingChannelSynchronously: child)
                }
            }
        } catch {
            throw RPCError(code: .unavailable, message: "cannot open a stream to unix://\(path): \(error)")
        }
        let (requests, requestWriter) = AsyncThrowingStream.makeStream(of: RPCRequestPart<Bytes>.self)
        let (responses, responseWriter) = AsyncThrowingStream.makeStream(of: RPCResponsePart<Bytes>.self)
        let rpc = RPCStream(descriptor: descriptor,
                            inbound: RPCAsyncSequence(wrapping: responses),
                            outbound: RPCWriter.Closable(wrapping: RequestWriter(continuation: requestWriter)))
        let context = ClientContext(descriptor: descriptor, remotePeer: "unix:\(path)", localPeer: "unix:")
        let headers = Self.requestHeaders(descriptor: descriptor, timeout: options.timeout)
        return try await stream.executeThenClose { inbound, outbound in
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await Self.send(requests, headers: headers, to: outbound) }
                group.addTask { await Self.receive(inbound, into: responseWriter, connectionError: connectionError) }
                let result: Result<T, any Error>
                do {
                    result = .success(try await closure(rpc, context))
                } catch {
                    result = .failure(error)
                }
                requestWriter.finish()
                group.cancelAll()
                while !group.isEmpty { _ = try? await group.next() }
                return try result.get()
            }
        }
    }

    private func openConnection(_ connectionError: ConnectionError) async throws -> (any Channel, NIOHTTP2Handler.AsyncStreamMultiplexer<Void>) {
        do {
            return try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(connectTimeout)
                .connect(unixDomainSocketPath: path) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let multiplexer = try channel.pipeline.syncOperations.configureAsyncHTTP2Pipeline(mode: .client) { stream in
                            stream.eventLoop.makeSucceededVoidFuture()
                        }
                        try channel.pipeline.syncOperations.addHandler(ConnectionErrorHandler(connectionError))
                        return (channel, multiplexer)
                    }
                }
        } catch {
            throw RPCError(code: .unavailable, message: "cannot connect to unix://\(path): \(Self.describe(error))")
        }
    }

    /// The request's HEADERS frame: the method as the path, gRPC's content type, and
    /// the deadline the server may enforce too.
    static func requestHeaders(descriptor: MethodDescriptor, timeout: Duration?) -> HPACKHeaders {
        var headers: HPACKHeaders = [
            ":method": "POST", ":scheme": "http", ":path": "/\(descriptor.fullyQualifiedMethod)", ":authority": "localhost",
            "content-type": "application/grpc", "te": "trailers",
        ]
        if let timeout {
            let (seconds, attoseconds) = timeout.components
            let milliseconds = max(1, seconds * 1000 + attoseconds / 1_000_000_000_000_000)
            headers.add(name: "grpc-timeout", value: "\(milliseconds)m")
        }
        return headers
    }

    /// Writes the request: its metadata merged into the HEADERS, each message as a
    /// length-prefixed DATA frame, and an empty DATA frame that ends the stream.
    static func send(_ parts: AsyncThrowingStream<RPCRequestPart<Bytes>, any Error>, headers: HPACKHeaders,
                     to outbound: NIOAsyncChannelOutboundWriter<HTTP2Frame.FramePayload>) async throws {
        var headers = headers
        for try await part in parts {
            switch part {
            case .metadata(let metadata):
                for entry in metadata {
                    switch entry.value {
                    case .string(let value): headers.add(name: entry.key, value: value)
                    case .binary(let bytes): headers.add(name: entry.key, value: Data(bytes).base64EncodedString())
                    }
                }
                try await outbound.write(.headers(.init(headers: headers)))
            case .message(let bytes):
                var buffer = ByteBuffer()
                buffer.reserveCapacity(5 + bytes.count)
                buffer.writeInteger(UInt8(0))  // not compressed
                buffer.writeInteger(UInt32(bytes.count))
                buffer.writeBytes(bytes)
                try await outbound.write(.data(.init(data: .byteBuffer(buffer))))
            }
        }
        try await outbound.write(.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true)))
    }

    /// Reads the response: HEADERS (the server's metadata), length-prefixed messages in
    /// DATA frames, and trailers carrying `grpc-status`; a response of trailers only
    /// is an error status at once.
    static func receive(_ inbound: NIOAsyncChannelInboundStream<HTTP2Frame.FramePayload>,
                        into responses: AsyncThrowingStream<RPCResponsePart<Bytes>, any Error>.Continuation,
                        connectionError: ConnectionError) async {
        var pending = ByteBuffer()
        var sawHeaders = false
        do {
            for try await payload in inbound {
                switch payload {
                case .headers(let frame):
                    if !sawHeaders {
                        sawHeaders = true
                        if let status = frame.headers.first(name: ":status"), status != "200" {
                            responses.yield(.status(Status(code: .unavailable, message: "the plugin answered HTTP \(status)"), [:]))
                            responses.finish()
                            return
                        }
                        if frame.endStream || frame.headers.first(name: "grpc-status") != nil {
                            responses.yield(.status(status(from: frame.headers), metadata(from: frame.headers)))
                            responses.finish()
                            return
                        }
                        responses.yield(.metadata(metadata(from: frame.headers)))
                    } else {
                        responses.yield(.status(status(from: frame.headers), metadata(from: frame.headers)))
                        responses.finish()
                        return
                    }
                case .data(let frame):
                    guard case .byteBuffer(var bytes) = frame.data else { continue }
                    pending.writeBuffer(&bytes)
                    while let message = try nextMessage(&pending) { responses.yield(.message(message)) }
                    if frame.endStream {
                        responses.yield(.status(Status(code: .internalError, message: "the response ended without a gRPC status"), [:]))
                        responses.finish()
                        return
                    }
                case .rstStream(let code):
                    responses.yield(.status(Status(code: .unavailable, message: "the plugin reset the stream (\(code))"), [:]))
                    responses.finish()
                    return
                default:
                    continue
                }
            }
            let why = connectionError.description.map { ": \($0)" } ?? ""
            responses.yield(.status(Status(code: .unavailable, message: "the connection closed before the response ended\(why)"), [:]))
            responses.finish()
        } catch let error as RPCError {
            responses.finish(throwing: error)
        } catch {
            responses.finish(throwing: RPCError(code: .unavailable, message: "the connection failed: \(describe(error))"))
        }
    }

    /// The longest message read: a KMS answer holds one DEK or DEK seed (32 bytes), or a status with a
    /// key ID of at most 1 kB. A longer one is refused as soon as its length prefix arrives, before it is
    /// buffered, so a plugin cannot make atrest hold what it sends (gRPC's own default is 4 MiB).
    static let maximumMessageBytes = 64 << 10

    /// One whole length-prefixed message from the front of `buffer`, or `nil` until it has arrived.
    static func nextMessage(_ buffer: inout ByteBuffer) throws -> [UInt8]? {
        guard let compressed = buffer.getInteger(at: buffer.readerIndex, as: UInt8.self),
              let length = buffer.getInteger(at: buffer.readerIndex + 1, as: UInt32.self) else { return nil }
        guard compressed == 0 else { throw RPCError(code: .internalError, message: "the plugin sent a compressed message; none was offered") }
        guard length <= maximumMessageBytes else {
            throw RPCError(code: .unavailable, message: "the plugin sent a \(length)-byte answer; a KMS answer holds one DEK or a status, "
                           + "and atrest reads at most \(maximumMessageBytes >> 10) KiB")
        }
        guard buffer.readableBytes >= 5 + Int(length) else { return nil }
        buffer.moveReaderIndex(forwardBy: 5)
        return buffer.readBytes(length: Int(length))
    }

    static func status(from headers: HPACKHeaders) -> Status {
        guard let text = headers.first(name: "grpc-status"), let raw = Int(text), let code = Status.Code(rawValue: raw) else {
            return Status(code: .unknown, message: "the response carries no valid grpc-status")
        }
        let message = headers.first(name: "grpc-message").map(percentDecoded) ?? ""
        return Status(code: code, message: message)
    }

    /// The headers that are not HTTP/2's or gRPC's own.
    static func metadata(from headers: HPACKHeaders) -> Metadata {
        var metadata = Metadata()
        for (name, value, _) in headers where !name.hasPrefix(":") && !["content-type", "grpc-status", "grpc-message", "te"].contains(name) {
            metadata.addString(value, forKey: name)
        }
        return metadata
    }

    /// `grpc-message` is percent-encoded UTF-8.
    static func percentDecoded(_ text: String) -> String {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let byte = utf8.popFirst() {
            if byte == UInt8(ascii: "%"), utf8.count >= 2,
               let value = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) {
                bytes.append(value)
                utf8 = utf8.dropFirst(2)
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// NIO's errors say what failed in their own words ("connection reset by peer (errno: 104)").
    static func describe(_ error: any Error) -> String {
        if let io = error as? IOError { return io.description }
        return "\(error)"
    }
}

/// The outbound half handed to gRPC: writes go to the sending task, `finish` ends the request.
private struct RequestWriter: ClosableRPCWriterProtocol {
    typealias Element = RPCRequestPart<[UInt8]>
    let continuation: AsyncThrowingStream<Element, any Error>.Continuation

    func write(_ element: Element) async throws { continuation.yield(element) }
    func write(contentsOf elements: some Sequence<Element>) async throws {
        for element in elements { continuation.yield(element) }
    }
    func finish() async { continuation.finish() }
    func finish(throwing error: any Error) async { continuation.finish(throwing: error) }
}

/// The first error of a connection (an HTTP/2 protocol error, such as a header block over
/// swift-nio-http2's 16 KiB limit), kept to say why its stream ended.
final class ConnectionError: Sendable {
    private let error = Mutex<String?>(nil)

    var description: String? { error.withLock { $0 } }

    func record(_ text: String) {
        error.withLock { if $0 == nil { $0 = text } }
    }
}

/// Ends the connection on its first error. swift-nio-http2 answers a protocol error with GOAWAY
/// and leaves the socket to the peer, which may keep it open: the stream would wait out the call's
/// timeout and the error would read "no answer". Closing ends the stream at once, with the reason.
private final class ConnectionErrorHandler: ChannelInboundHandler, Sendable {
    typealias InboundIn = Any
    private let connectionError: ConnectionError

    init(_ connectionError: ConnectionError) {
        self.connectionError = connectionError
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if error is NIOHTTP2Errors.ExcessivelyLargeHeaderBlock {
            connectionError.record("the plugin sent response headers over the 16 KiB atrest reads (a gRPC status message that long is no KMS answer)")
        } else {
            connectionError.record(String(describing: error))
        }
        context.close(promise: nil)
    }
}

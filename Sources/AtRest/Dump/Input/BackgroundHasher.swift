import Foundation

/// A SHA-256 fed on a thread of its own, so that hashing what was read overlaps
/// with parsing it: the provenance digest of a 1.5 GB export is a second of one
/// core, which would otherwise sit on the reading thread, the head of the pipeline.
///
/// It hashes the stream's buffer in place. The stream hands it each chunk right
/// after reading it, and before it moves, overwrites or frees any byte it has
/// handed over, it calls `waitUntilHashed()`. The hasher owns the `SHA256` from
/// `init` on: nobody else touches it until `digest()` has waited for every chunk.
final class BackgroundHasher: @unchecked Sendable {
    private let hasher: SHA256
    private let condition = NSCondition()
    /// Chunks handed over and not yet hashed, oldest first; bounded by the stream's
    /// buffer, which holds them all.
    private var pending: [UnsafeRawBufferPointer] = []
    private var hashing = false
    private var stopping = false
    private var running = true

    /// Takes over `hasher` (its state so far included) and starts the thread.
    init(continuing hasher: SHA256) {
        self.hasher = hasher
        let thread = Thread { [self] in work() }
        thread.name = "atrest-sha256"
        thread.start()
    }

    /// Queues `bytes`, which must stay untouched until `waitUntilHashed()` returns.
    func submit(_ bytes: UnsafeRawBufferPointer) {
        condition.lock()
        pending.append(bytes)
        condition.broadcast()
        condition.unlock()
    }

    /// Returns once every chunk submitted so far is hashed.
    func waitUntilHashed() {
        condition.lock()
        while !pending.isEmpty || hashing { condition.wait() }
        condition.unlock()
    }

    /// The digest of every chunk submitted so far.
    func digest() -> [UInt8] {
        waitUntilHashed()
        return hasher.digest()
    }

    /// Ends the thread once what is queued is hashed, and waits for it.
    func stop() {
        condition.lock()
        stopping = true
        condition.broadcast()
        while running { condition.wait() }
        condition.unlock()
    }

    private func work() {
        condition.lock()
        while true {
            while pending.isEmpty && !stopping { condition.wait() }
            if pending.isEmpty { break }
            let chunk = pending.removeFirst()
            hashing = true
            condition.unlock()
            hasher.update(chunk)
            condition.lock()
            hashing = false
            condition.broadcast()
        }
        running = false
        condition.broadcast()
        condition.unlock()
    }
}

import Foundation

/// etcd's key order (and LMDB's default): `memcmp` over the common length, then
/// the shorter first. Negative, zero or positive, as `memcmp`.
package func compareBytes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Int {
    let common = min(a.count, b.count)
    if common > 0, let x = a.baseAddress, let y = b.baseAddress {
        let order = memcmp(x, y, common)
        if order != 0 { return Int(order) }
    }
    return a.count - b.count
}

/// Whether `a` sorts before `b` in etcd's key order.
package func precedes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool { compareBytes(a, b) < 0 }

/// Whether `a` sorts before `b` in etcd's key order.
package func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    a.withUnsafeBytes { x in b.withUnsafeBytes { y in precedes(x, y) } }
}

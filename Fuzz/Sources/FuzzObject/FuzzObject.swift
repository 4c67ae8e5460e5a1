/// The Kubernetes object `inspect --decrypt` reads after decryption: the
/// `k8s\x00` + `runtime.Unknown` protobuf or the JSON object, and its annotation.
import AtRestReport
import FuzzSupport

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let value = [UInt8](bytes(data, size))
    let object = ObjectEnvelope(decoding: value)
    let total = object.parts.reduce(0) { $0 + $1.size }
    for part in object.parts where part.size != part.contents.count {
        fatalError("part \(part.name) claims \(part.size) bytes but holds \(part.contents.count)")
    }
    _ = total
    let annotation = ValueAnnotation.annotate(value)
    for region in annotation.regions where region.range.lowerBound < 0 || region.range.upperBound > value.count {
        fatalError("annotation region \(region.range) lies outside a \(value.count)-byte value")
    }
    return 0
}

// swift-tools-version:6.0
import PackageDescription

/// libFuzzer targets, one per parser of untrusted input. Built and run by
/// `scripts/fuzz.sh`, which passes `-sanitize=fuzzer,address` and
/// `-enable-testing` (the dump readers are internal to AtRestDump).
/// Each target is an executable without `main`: libFuzzer provides it and calls
/// `LLVMFuzzerTestOneInput` once per input.
let fuzzTargets = ["FuzzJSON", "FuzzFields", "FuzzHex", "FuzzSimple", "FuzzSnapshot", "FuzzKine", "FuzzConfig", "FuzzEnvelope", "FuzzObject"]

let package = Package(
    name: "atrest-fuzz",
    dependencies: [
        .package(name: "atrest", path: ".."),
    ],
    targets: [
        .target(name: "FuzzSupport", dependencies: [.product(name: "AtRest", package: "atrest")]),
    ] + fuzzTargets.map { name in
        .executableTarget(name: name, dependencies: ["FuzzSupport", .product(name: "AtRest", package: "atrest")])
    }
)

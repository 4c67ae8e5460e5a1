// swift-tools-version:6.0
import PackageDescription
import Foundation

/// The commit `atrest --version` names: the build scripts set ATREST_GIT_COMMIT
/// (`git rev-parse HEAD`); a plain `swift build` says "unknown" rather than guess.
let commit = ProcessInfo.processInfo.environment["ATREST_GIT_COMMIT"].flatMap { value in
    value.allSatisfy { $0.isHexDigit } && !value.isEmpty ? value : nil
} ?? "unknown"

/// Layers, each a module; dependencies point one way:
/// atrest (CLI) -> Report -> Audit -> Encryption / Index -> Dump, and
/// atrest (CLI) -> KMS -> Encryption: only the CLI knows that plugins speak gRPC.
let package = Package(
    name: "atrest",
    products: [
        .executable(name: "atrest", targets: ["atrest"]),
        .library(name: "AtRest", targets: ["AtRestDump", "AtRestIndex", "AtRestEncryption", "AtRestAudit", "AtRestReport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", exact: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", exact: "6.2.2"),
        // KMS plugins (docs/kms.md): gRPC over HTTP/2 on a unix socket, without TLS.
        .package(url: "https://github.com/grpc/grpc-swift-2.git", exact: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf.git", exact: "2.4.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", exact: "1.46.0"),
    ],
    targets: [
        .systemLibrary(name: "CLMDB", path: "Sources/CShims/CLMDB", pkgConfig: "lmdb", providers: [.apt(["liblmdb-dev"])]),
        .systemLibrary(name: "COpenSSL", path: "Sources/CShims/COpenSSL", pkgConfig: "libcrypto", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSodium", path: "Sources/CShims/CSodium", pkgConfig: "libsodium", providers: [.apt(["libsodium-dev"])]),
        .systemLibrary(name: "CSQLite", path: "Sources/CShims/CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),

        .target(name: "CBuildInfo", path: "Sources/CShims/CBuildInfo", cSettings: [.define("ATREST_GIT_COMMIT", to: "\"\(commit)\"")]),

        .target(name: "CBase64", path: "Sources/CShims/CBase64"),
        .target(name: "AtRestDump", dependencies: ["COpenSSL", "CSQLite", "CBase64"], path: "Sources/AtRest/Dump"),
        .target(name: "AtRestIndex", dependencies: ["AtRestDump", "CLMDB"], path: "Sources/AtRest/Index"),
        .target(name: "AtRestEncryption", dependencies: ["AtRestDump", "COpenSSL", "CSodium", .product(name: "Yams", package: "Yams")], path: "Sources/AtRest/Encryption"),
        .target(name: "AtRestAudit", dependencies: ["AtRestDump", "AtRestIndex", "AtRestEncryption"], path: "Sources/AtRest/Audit"),
        .target(name: "AtRestReport", dependencies: ["AtRestAudit", "AtRestIndex", "AtRestEncryption", "AtRestDump"], path: "Sources/AtRest/Report"),
        .target(
            name: "AtRestKMS",
            dependencies: [
                "AtRestEncryption",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            ],
            path: "Sources/AtRest/KMS",
            // The generated code imports gRPC plainly; nothing of gRPC may leave this module.
            swiftSettings: [.enableUpcomingFeature("InternalImportsByDefault")]
        ),
        .executableTarget(
            name: "atrest",
            dependencies: ["AtRestReport", "AtRestAudit", "AtRestIndex", "AtRestEncryption", "AtRestDump", "AtRestKMS", "CBuildInfo", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/atrest"
        ),

        .target(name: "AtRestTestSupport", dependencies: ["AtRestDump"], path: "Tests/AtRestTestSupport"),
        .testTarget(name: "AtRestDumpTests", dependencies: ["AtRestDump", "AtRestTestSupport"]),
        .testTarget(name: "AtRestIndexTests", dependencies: ["AtRestIndex", "AtRestTestSupport"]),
        .testTarget(name: "AtRestEncryptionTests", dependencies: ["AtRestEncryption", "AtRestTestSupport"]),
        .testTarget(name: "AtRestAuditTests", dependencies: ["AtRestAudit", "AtRestIndex", "AtRestEncryption", "AtRestDump", "AtRestTestSupport"]),
        .testTarget(name: "EndToEndTests", dependencies: ["AtRestTestSupport", "AtRestDump"], exclude: ["Snapshots"]),
    ]
)

// swift-tools-version: 6.0
import PackageDescription

/// Shard for Swift: a local distributed-inference sidecar and a streaming Swift SDK.
///
/// Targets are split by responsibility (see `ARCHITECTURE` in the README):
/// C shims over system libraries, tokenizers, the engine, and the thin `shard-sidecar` executable.
let package = Package(
    name: "shard-swift",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "ShardClient", targets: ["ShardClient"]),
        .library(name: "ShardTokenizers", targets: ["ShardTokenizers"]),
        .library(name: "ShardEngine", targets: ["ShardEngine"]),
        .library(name: "ShardNetworking", targets: ["ShardNetworking"]),
        .library(name: "ShardProtocol", targets: ["ShardProtocol"]),
        .library(name: "ShardHTTPClient", targets: ["ShardHTTPClient"]),
        .library(name: "ShardSidecarCore", targets: ["ShardSidecarCore"]),
        .library(name: "ShardChat", targets: ["ShardChat"]),
        .executable(name: "shard-sidecar", targets: ["ShardSidecar"]),
        .executable(name: "shard", targets: ["ShardCLI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // MARK: C shims over Debian system libraries
        .target(
            name: "CSentencePiece",
            linkerSettings: [.linkedLibrary("sentencepiece"), .linkedLibrary("stdc++")]
        ),
        .systemLibrary(
            name: "COpenBLAS",
            pkgConfig: "openblas",
            providers: [.apt(["libopenblas-dev"])]
        ),
        .target(name: "CShardKernels"),
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("curl")]),
        .systemLibrary(
            name: "CLibWebSockets",
            pkgConfig: "libwebsockets",
            providers: [.apt(["libwebsockets-dev"])]
        ),

        // MARK: Swift modules
        .target(name: "ShardSync"),
        .target(name: "ShardProtocol"),
        .target(name: "ShardChat"),
        .target(
            name: "ShardTokenizers",
            dependencies: ["CSentencePiece", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .target(
            name: "ShardEngine",
            dependencies: ["ShardTokenizers", "ShardProtocol", "ShardSync", "COpenBLAS", "CShardKernels",
                           .product(name: "Crypto", package: "swift-crypto")]
        ),

        .target(name: "ShardNetworking", dependencies: ["CLibWebSockets", "ShardSync"]),
        .target(name: "ShardHTTPClient", dependencies: ["CCurl", "ShardSync"]),
        .target(
            name: "ShardClient",
            dependencies: ["ShardProtocol", "ShardTokenizers", "ShardNetworking", "ShardHTTPClient", "ShardSync"]
        ),

        .target(
            name: "ShardSidecarCore",
            dependencies: ["ShardProtocol", "ShardEngine", "ShardTokenizers", "ShardNetworking", "ShardChat",
                           "ShardHTTPClient", "ShardSync",
                           .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "Logging", package: "swift-log")],
            path: "Sidecar/ShardSidecarCore"
        ),

        // MARK: Executables
        .executableTarget(
            name: "ShardSidecar",
            dependencies: ["ShardEngine", "ShardTokenizers", "ShardSidecarCore", "ShardProtocol",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sidecar/ShardSidecar"
        ),
        .executableTarget(
            name: "ShardCLI",
            dependencies: ["ShardClient", "ShardProtocol", "ShardTokenizers", "ShardSync",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(
            name: "StreamingExample",
            dependencies: ["ShardClient"],
            path: "Examples/StreamingExample"
        ),
        .executableTarget(
            name: "ShardEngineBenchmark",
            dependencies: ["ShardEngine", "ShardTokenizers",
                           .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Benchmarks/ShardEngineBenchmark"
        ),

        // MARK: Tests
        .target(
            name: "ShardTestSupport",
            dependencies: [.product(name: "Crypto", package: "swift-crypto")],
            path: "Tests/ShardTestSupport"
        ),
        .testTarget(name: "ShardTokenizersTests", dependencies: ["ShardTokenizers"]),
        .testTarget(name: "ShardEngineTests", dependencies: ["ShardEngine", "ShardTokenizers", "ShardTestSupport"]),
        .testTarget(
            name: "SidecarTests",
            dependencies: ["ShardEngine", "ShardProtocol", "ShardNetworking", "ShardSync", "ShardTestSupport",
                           "ShardTokenizers"],
            exclude: ["Scripts"]
        ),
        .testTarget(name: "ShardNetworkingTests", dependencies: ["ShardNetworking", "ShardSync", "ShardTestSupport"]),
        .testTarget(name: "ShardProtocolTests", dependencies: ["ShardProtocol"]),
        .testTarget(name: "ShardChatTests", dependencies: ["ShardChat"]),
        .testTarget(
            name: "SidecarCoreTests",
            dependencies: ["ShardSidecarCore", "ShardEngine", "ShardProtocol", "ShardSync", "ShardTokenizers",
                           "ShardTestSupport"]
        ),
        .testTarget(name: "ShardHTTPClientTests", dependencies: ["ShardHTTPClient", "ShardNetworking"]),
        .testTarget(
            name: "ShardClientTests",
            dependencies: ["ShardClient", "ShardProtocol", "ShardTestSupport", "ShardTokenizers"]
        ),

        // MARK: Fuzzing (`make fuzz`; the corpus and findings are replayed by FuzzRegressionTests)
        .target(
            name: "ShardFuzzTargets",
            dependencies: ["ShardEngine", "ShardNetworking", "ShardProtocol", "ShardTokenizers"],
            path: "Tests/Fuzz/Targets"
        ),
        .executableTarget(name: "shard-fuzz", dependencies: ["ShardFuzzTargets"], path: "Tests/Fuzz/Driver"),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["ShardFuzzTargets"]),
    ],
    swiftLanguageModes: [.v6],
    cxxLanguageStandard: .cxx17
)

// swift-tools-version:6.0
import PackageDescription

// Layers, lowest first (docs/architecture.md): C shims -> SIP -> Gateway -> tieline.
// A layer never imports one above it.
let package = Package(
    name: "Tieline",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "tieline", targets: ["tieline"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.1"),
    ],
    targets: [
        // System libraries from Debian packages, found through pkg-config.
        .systemLibrary(name: "COpenSSL", path: "Sources/COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "COpus", path: "Sources/COpus", pkgConfig: "opus",
                       providers: [.apt(["libopus-dev"])]),
        .systemLibrary(name: "CSRTP", path: "Sources/CSRTP", pkgConfig: "libsrtp2",
                       providers: [.apt(["libsrtp2-dev"])]),
        .systemLibrary(name: "CSpanDSP", path: "Sources/CSpanDSP", pkgConfig: "spandsp",
                       providers: [.apt(["libspandsp-dev"])]),
        .systemLibrary(name: "CLua", path: "Sources/CLua", pkgConfig: "lua5.4",
                       providers: [.apt(["liblua5.4-dev"])]),

        // Tiny C helpers for what Swift cannot call (variadic opus_*_ctl).
        .target(name: "CMediaHelpers", dependencies: ["COpus"]),
        .target(name: "Codecs", dependencies: ["COpus", "CSpanDSP", "CMediaHelpers"]),

        .target(name: "STUN", dependencies: ["COpenSSL"]),
        .target(name: "RTP"),
        .target(name: "CDTLSHelpers", dependencies: ["COpenSSL"]),
        .target(name: "SecureMedia", dependencies: ["CSRTP", "COpenSSL", "CDTLSHelpers"]),
        .target(name: "SDP"),
        .target(name: "Media", dependencies: [
            "Codecs", "RTP", "SDP", "STUN", "SecureMedia",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        .target(name: "SIP", dependencies: [
            "COpenSSL",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Gateway", dependencies: [
            "SIP", "Media", "SecureMedia", "Codecs",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Yams", package: "Yams"),
        ]),
        .executableTarget(name: "tieline", dependencies: [
            "Gateway", "SIP", "Media",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // Counts heap allocations in the benchmark process only.
        .target(name: "CAllocationCounter", path: "Benchmarks/CAllocationCounter"),
        .executableTarget(name: "tieline-bench", dependencies: [
            "SIP", "Gateway", "Codecs", "SecureMedia", "Media", "STUN", "RTP", "CAllocationCounter",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], path: "Benchmarks/tieline-bench"),

        // Helpers shared by the test targets (seeded generators for fuzzing).
        .target(name: "TestSupport", path: "Tests/TestSupport"),

        .testTarget(name: "CShimTests", dependencies: ["COpenSSL", "COpus", "CSRTP", "CSpanDSP", "CLua"]),
        .testTarget(name: "SIPTests", dependencies: ["TestSupport", "SIP",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], resources: [.copy("Vectors")]),
        .testTarget(name: "CodecsTests", dependencies: ["Codecs"]),
        .testTarget(name: "SecureMediaTests", dependencies: ["SecureMedia"]),
        .testTarget(name: "STUNTests", dependencies: ["TestSupport", "STUN"]),
        .testTarget(name: "RTPTests", dependencies: ["TestSupport", "RTP"]),
        .testTarget(name: "GatewayTests", dependencies: ["TestSupport", "Gateway", "SIP"]),
        .testTarget(name: "IntegrationTests", dependencies: ["Gateway", "SIP",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], resources: [.copy("Scenarios")]),
        .testTarget(name: "MediaTests", dependencies: ["TestSupport", "Media", "Codecs", "RTP", "STUN", "SecureMedia", "SDP",
            .product(name: "NIOCore", package: "swift-nio"),
        ]),
        .testTarget(name: "SDPTests", dependencies: ["TestSupport", "SDP"], resources: [.copy("Vectors")]),
        .testTarget(name: "WebRTCTests", dependencies: ["Media", "SDP", "SecureMedia",
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], resources: [.copy("Peers")]),
    ],
    swiftLanguageModes: [.v6]
)

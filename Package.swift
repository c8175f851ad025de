// swift-tools-version:6.0
import PackageDescription

// Layers, lowest first (docs/architecture.md): C shims -> protocols (SIP, SDP,
// STUN, RTP), media, signaling, dialplan, records, configuration -> Gateway -> tieline.
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
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-websocket.git", from: "2.8.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
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
        .systemLibrary(name: "CSQLite", path: "Sources/CSQLite", pkgConfig: "sqlite3",
                       providers: [.apt(["libsqlite3-dev"])]),

        // Tiny C helpers for what Swift cannot call (variadic opus_*_ctl).
        .target(name: "CMediaHelpers", dependencies: ["COpus"]),
        .target(name: "Codecs", dependencies: ["COpus", "CSpanDSP", "CMediaHelpers"]),

        .target(name: "STUN", dependencies: ["COpenSSL"]),
        .target(name: "RTP"),
        .target(name: "CDTLSHelpers", dependencies: ["COpenSSL"]),
        .target(name: "SecureMedia", dependencies: ["CSRTP", "COpenSSL", "CDTLSHelpers"]),
        .target(name: "SDP"),
        // The Lua dialplan: a sandboxed state per call; everything that can
        // longjmp stays in C (CDialplanHelpers).
        .target(name: "CDialplanHelpers", dependencies: ["CLua"]),
        .target(name: "Dialplan", dependencies: ["CLua", "CDialplanHelpers"]),
        // Call records: SQLite (a writer thread) or PostgreSQL (postgres-nio).
        .target(name: "Records", dependencies: [
            "CSQLite",
            .product(name: "PostgresNIO", package: "postgres-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .target(name: "Media", dependencies: [
            "Codecs", "RTP", "SDP", "STUN", "SecureMedia",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // The browser side: HTTPS/WSS, the protocol, logins, the web phone.
        .target(name: "Signaling", dependencies: [
            "SDP",
            .product(name: "Hummingbird", package: "hummingbird"),
            .product(name: "HummingbirdCore", package: "hummingbird"),
            .product(name: "HummingbirdTLS", package: "hummingbird"),
            .product(name: "HummingbirdWebSocket", package: "hummingbird-websocket"),
            .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            .product(name: "X509", package: "swift-certificates"),
            .product(name: "Crypto", package: "swift-crypto"),
            .product(name: "SwiftASN1", package: "swift-asn1"),
            .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ], resources: [.copy("WebPhone")]),

        .target(name: "SIP", dependencies: [
            "COpenSSL",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        // tieline.yaml: loading, checking, defaults; what every other layer is configured with.
        .target(name: "Config", dependencies: [
            "Records",
            .product(name: "Yams", package: "Yams"),
        ]),
        .target(name: "Gateway", dependencies: [
            "Config", "SIP", "Media", "SecureMedia", "Codecs", "SDP", "Signaling", "Dialplan", "Records",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOSSL", package: "swift-nio-ssl"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .executableTarget(name: "tieline", dependencies: [
            "Config", "Gateway", "SIP", "Media", "Signaling", "Dialplan", "Records",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        // Counts heap allocations in the benchmark process only.
        .target(name: "CAllocationCounter", path: "Benchmarks/CAllocationCounter"),
        .executableTarget(name: "tieline-bench", dependencies: [
            "Config", "SIP", "Gateway", "Codecs", "SecureMedia", "Media", "STUN", "RTP", "CAllocationCounter", "Dialplan",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
        ], path: "Benchmarks/tieline-bench", exclude: ["chromium_offer.sdp"]),

        // Helpers shared by the test targets (seeded generators for fuzzing).
        .target(name: "TestSupport", path: "Tests/TestSupport"),
        // The SIP core on a recording transport, for tests without sockets.
        .target(name: "SIPTestSupport", dependencies: ["SIP",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
        ], path: "Tests/SIPTestSupport"),

        .testTarget(name: "CShimTests", dependencies: ["COpenSSL", "COpus", "CSRTP", "CSpanDSP", "CLua"]),
        .testTarget(name: "SIPTests", dependencies: ["TestSupport", "SIPTestSupport", "SIP",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], resources: [.copy("Vectors")]),
        .testTarget(name: "CodecsTests", dependencies: ["Codecs"]),
        .testTarget(name: "DialplanTests", dependencies: ["Dialplan"]),
        .testTarget(name: "RecordsTests", dependencies: ["Records", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "SecureMediaTests", dependencies: ["SecureMedia"]),
        .testTarget(name: "STUNTests", dependencies: ["TestSupport", "STUN"]),
        .testTarget(name: "RTPTests", dependencies: ["TestSupport", "RTP"]),
        .testTarget(name: "ConfigTests", dependencies: ["TestSupport", "Config"]),
        .testTarget(name: "GatewayTests", dependencies: ["TestSupport", "SIPTestSupport", "Config", "Gateway", "SIP", "Media",
            "SDP", "Signaling", "Dialplan", "Records",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOEmbedded", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ]),
        .testTarget(name: "IntegrationTests", dependencies: ["Config", "Gateway", "SIP", "Media", "Dialplan", "Records", "Codecs",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
        ], resources: [.copy("Scenarios")]),
        .testTarget(name: "MediaTests", dependencies: ["TestSupport", "Media", "Codecs", "RTP", "STUN", "SecureMedia", "SDP",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ]),
        .testTarget(name: "SignalingTests", dependencies: ["Signaling",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "HummingbirdWSClient", package: "hummingbird-websocket"),
        ], resources: [.copy("Vectors")]),
        .testTarget(name: "SDPTests", dependencies: ["TestSupport", "SDP"], resources: [.copy("Vectors")]),
        .testTarget(name: "WebRTCTests", dependencies: ["Media", "SDP", "SecureMedia",
            .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
        ], resources: [.copy("Peers")]),
    ],
    swiftLanguageModes: [.v6]
)

// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Latchkey",
    platforms: [.macOS(.v14), .iOS(.v17)],
    products: [
        .library(name: "LatchkeyPKI", targets: ["LatchkeyPKI"]),
        .library(name: "LatchkeyProtocol", targets: ["LatchkeyProtocol"]),
        .executable(name: "latchkey", targets: ["latchkey"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
    ],
    targets: [
        .target(
            name: "LatchkeyPKI",
            dependencies: [
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        .target(
            name: "LatchkeyProtocol",
            dependencies: []
        ),
        .executableTarget(
            name: "latchkey",
            dependencies: [
                "LatchkeyPKI",
                "LatchkeyProtocol",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ]
        ),
        .target(name: "LatchkeyTestSupport", dependencies: []),
        .testTarget(name: "LatchkeyPKITests", dependencies: ["LatchkeyPKI", "LatchkeyTestSupport"]),
        .testTarget(
            name: "latchkeyTests",
            dependencies: ["latchkey", "LatchkeyPKI", "LatchkeyTestSupport", .product(name: "X509", package: "swift-certificates")]
        ),
        .testTarget(name: "LatchkeyProtocolTests", dependencies: ["LatchkeyProtocol"]),
    ],
    swiftLanguageModes: [.v6]
)

// swift-tools-version:6.0
// libFuzzer targets for Latchkey's parsers, kept out of the main package because they link only with
// -sanitize=fuzzer (their main calls libFuzzer's LLVMFuzzerRunDriver). Build and run them with `Fuzz/run.sh`.
import PackageDescription

let package = Package(
    name: "LatchkeyFuzz",
    dependencies: [.package(name: "Latchkey", path: "..")],
    targets: [
        .target(name: "CFuzzDriver"),
        .executableTarget(
            name: "fuzz-csr", dependencies: ["CFuzzDriver", .product(name: "LatchkeyFuzzTargets", package: "Latchkey")]),
        .executableTarget(
            name: "fuzz-json", dependencies: ["CFuzzDriver", .product(name: "LatchkeyFuzzTargets", package: "Latchkey")]),
        .executableTarget(
            name: "fuzz-signature", dependencies: ["CFuzzDriver", .product(name: "LatchkeyFuzzTargets", package: "Latchkey")]),
        .executableTarget(
            name: "fuzz-cbor", dependencies: ["CFuzzDriver", .product(name: "LatchkeyFuzzTargets", package: "Latchkey")]),
        .executableTarget(
            name: "fuzz-appattest", dependencies: ["CFuzzDriver", .product(name: "LatchkeyFuzzTargets", package: "Latchkey")]),
        .executableTarget(
            name: "fuzz-keydescription",
            dependencies: ["CFuzzDriver", .product(name: "LatchkeyFuzzTargets", package: "Latchkey")]),
    ],
    swiftLanguageModes: [.v6]
)

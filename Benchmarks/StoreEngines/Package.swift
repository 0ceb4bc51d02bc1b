// swift-tools-version:6.1
// The candidate SQLite engine of issue 17, measured beside Latchkey's own store on the same database file. A package
// of its own: GRDB is not a dependency of Latchkey (see README.md here).
import PackageDescription

let package = Package(
    name: "StoreEngines",
    dependencies: [
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0")
    ],
    targets: [
        .executableTarget(
            name: "store-engines",
            dependencies: [.product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: [.swiftLanguageMode(.v6)])
    ]
)

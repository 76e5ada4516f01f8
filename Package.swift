// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "batchgate",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "batchgate", targets: ["batchgate"]),
        .library(name: "BatchgateCore", targets: ["BatchgateCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // Pure domain: manifest model, JSON and CSV readers, catalog, rules, reports.
        // Values in, values out: no file system, clock or network.
        .target(name: "BatchgateCore"),

        // libcurl, wrapped for Swift: a module map and typed shims for the variadic setopt/getinfo.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),

        .executableTarget(
            name: "batchgate",
            dependencies: [
                "BatchgateCore",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // Compares JSON parsers and times read + evaluate + report (run by bench/).
        .executableTarget(
            name: "batchgate-bench",
            dependencies: ["BatchgateCore"],
            path: "Sources/BatchgateBench"
        ),

        .testTarget(
            name: "BatchgateCoreTests",
            dependencies: ["BatchgateCore"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "BatchgateCLITests",
            dependencies: ["batchgate", "CCurl"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

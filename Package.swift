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
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
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

        // Linux calls Glibc does not show without _GNU_SOURCE: renameat2(RENAME_NOREPLACE), syncfs.
        .target(name: "CSystem"),

        // The daemon: config, watcher, router, audit log, systemd notify. Depends on the core,
        // never the other way round.
        .target(
            name: "BatchgateDaemon",
            dependencies: [
                "BatchgateCore",
                "CSystem",
                "CCurl",
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        .executableTarget(
            name: "batchgate",
            dependencies: [
                "BatchgateCore",
                "BatchgateDaemon",
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
        // Test helpers shared by the test targets: an HTTP receiver on loopback.
        .target(name: "TestSupport", path: "Tests/TestSupport"),

        .testTarget(
            name: "BatchgateDaemonTests",
            dependencies: ["BatchgateDaemon", "TestSupport"],
            exclude: ["Support"]
        ),
        .testTarget(
            name: "BatchgateCLITests",
            dependencies: ["batchgate", "CCurl", "TestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

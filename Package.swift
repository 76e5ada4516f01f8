// swift-tools-version:6.1
import PackageDescription

// The layers, each depending only on those above it (no cycles):
//   BatchgateCore     the pure domain: manifests, readers, catalog, rules, reports (no I/O)
//   BatchgateSystem   the POSIX layer: every system call through one wrapper (with CSystem)
//   BatchgateConfig   the YAML config, decoded once into the values the daemon runs on (with Yams)
//   BatchgateHTTP     HTTP through libcurl (CCurl): POST and GET, timeouts, verified TLS, Retry-After
//   BatchgateAlerts   alerts: the outbox, one file per sink kind, delivery over HTTP and SMTP
//   BatchgateMetrc    Metrc's API: paced, retried reads of items and packages
//   BatchgateCatalog  the catalog the daemon runs on: Metrc synced into a cache on disk, files laid over it
//   BatchgateDaemon   routing (the crash-safe protocol), intake (the inbox) and lifecycle
//   BatchgateStatus   what a state root says of its daemon, read from outside it (`batchgate status`)
//   batchgate         the command line: check, run, status, config check, alert test and retry,
//                     catalog sync and show
let package = Package(
    name: "batchgate",
    products: [
        .executable(name: "batchgate", targets: ["batchgate"]),
        .library(name: "BatchgateCore", targets: ["BatchgateCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    ],
    targets: [
        // Values in, values out: no file system, clock or network.
        .target(name: "BatchgateCore"),

        // Linux calls Glibc does not show without _GNU_SOURCE: renameat2(RENAME_NOREPLACE), syncfs.
        .target(name: "CSystem"),
        // System calls (each retrying EINTR and throwing errno with what was attempted on what),
        // bounded file reads, hashing, the log. Knows nothing of manifests.
        .target(name: "BatchgateSystem", dependencies: ["CSystem"]),

        .target(
            name: "BatchgateConfig",
            dependencies: [
                "BatchgateCore",
                "BatchgateSystem",
                .product(name: "Yams", package: "Yams"),
            ]
        ),

        // libcurl, wrapped for Swift: a module map and typed shims for the variadic setopt/getinfo.
        .systemLibrary(
            name: "CCurl",
            pkgConfig: "libcurl",
            providers: [.apt(["libcurl4-openssl-dev"])]
        ),
        // One HTTP client for every sender and reader: alerts' POSTs, the Metrc catalog's GETs. Knows
        // nothing of the config: callers map their settings to its TransferOptions.
        .target(name: "BatchgateHTTP", dependencies: ["BatchgateSystem", "CCurl"]),
        // SMTP goes through CCurl directly (MailTransfer), with BatchgateHTTP's TransferOptions.
        .target(
            name: "BatchgateAlerts",
            dependencies: ["BatchgateCore", "BatchgateSystem", "BatchgateConfig", "BatchgateHTTP", "CCurl"]
        ),

        // Reading the catalog from Metrc's API: requests within the facility's rate limits, retries.
        .target(name: "BatchgateMetrc", dependencies: ["BatchgateCore", "BatchgateSystem", "BatchgateHTTP"]),
        // The catalog kept from Metrc: syncs, the cache in the state root, look-ups of what it lacks.
        .target(name: "BatchgateCatalog", dependencies: ["BatchgateCore", "BatchgateSystem", "BatchgateConfig", "BatchgateMetrc"]),

        .target(
            name: "BatchgateDaemon",
            dependencies: ["BatchgateCore", "BatchgateSystem", "BatchgateConfig", "BatchgateAlerts", "BatchgateCatalog"]
        ),

        // Reads only: never the daemon's lock, never a write; so not built on BatchgateDaemon.
        .target(
            name: "BatchgateStatus",
            dependencies: ["BatchgateCore", "BatchgateSystem", "BatchgateConfig", "BatchgateAlerts", "BatchgateCatalog"]
        ),

        .executableTarget(
            name: "batchgate",
            dependencies: [
                "BatchgateCore",
                "BatchgateSystem",
                "BatchgateConfig",
                "BatchgateAlerts",
                "BatchgateMetrc",
                "BatchgateCatalog",
                "BatchgateDaemon",
                "BatchgateStatus",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),

        // check's own parse-only pass, JSON parsers compared, read + evaluate + report in memory
        // (run by bench/). BatchgateSystem: it lists and reads the files as check does.
        .executableTarget(
            name: "batchgate-bench",
            dependencies: ["BatchgateCore", "BatchgateSystem"],
            path: "Sources/BatchgateBench"
        ),

        // Tests follow the targets. TestSupport: an HTTP receiver, an SMTP server (aiosmtpd) and a
        // Metrc-shaped catalog API (metrc_server.py) on loopback, test sinks with inline secrets,
        // polling, slack_check.py (Slack's own block models over payloads), and
        // adaptive_card_check.py with Microsoft's Adaptive Card schemas.
        .target(
            name: "TestSupport",
            dependencies: ["BatchgateConfig", "BatchgateAlerts"],
            path: "Tests/TestSupport",
            exclude: ["smtp_server.py", "python_tools_check.py", "python-tools.txt", "webhook_check.py", "slack_check.py", "validating_receiver.py", "payload_documents.py", "mail_read_check.py",
                      "adaptive_card_check.py", "AdaptiveCardSchemas", "metrc_server.py", "prometheus_check.py"]
        ),
        .testTarget(name: "BatchgateCoreTests", dependencies: ["BatchgateCore"], exclude: ["Fixtures"]),
        // The Metrc client and its pulls, and the Metrc-shaped test server itself, over HTTP.
        .testTarget(name: "BatchgateMetrcTests", dependencies: ["BatchgateMetrc", "BatchgateHTTP", "BatchgateSystem", "TestSupport"]),
        // The Metrc snapshot, its cache file, and syncs against the Metrc-shaped server.
        .testTarget(name: "BatchgateCatalogTests",
                    dependencies: ["BatchgateCatalog", "BatchgateMetrc", "BatchgateCore", "BatchgateSystem", "TestSupport"]),
        .testTarget(name: "BatchgateSystemTests", dependencies: ["BatchgateSystem"]),
        .testTarget(name: "BatchgateConfigTests", dependencies: ["BatchgateConfig", "TestSupport"]),
        .testTarget(name: "BatchgateHTTPTests", dependencies: ["BatchgateHTTP", "CCurl", "TestSupport"]),
        .testTarget(name: "BatchgateAlertsTests", dependencies: ["BatchgateAlerts", "TestSupport"]),
        .testTarget(name: "BatchgateDaemonTests", dependencies: ["BatchgateDaemon", "TestSupport"]),
        // Real state roots, audit logs and locks held by other processes; `batchgate status` run as a binary.
        .testTarget(name: "BatchgateStatusTests", dependencies: [
            "BatchgateStatus", "BatchgateCore", "BatchgateSystem", "BatchgateConfig", "BatchgateAlerts", "BatchgateCatalog", "batchgate",
        ]),
        // Spawns the built binary: the daemon and the commands end to end, crashes and faults included.
        .testTarget(
            name: "BatchgateEndToEndTests",
            dependencies: ["batchgate", "CCurl", "TestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)

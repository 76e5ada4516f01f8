import BatchgateSystem

/// One facility's access to Metrc's API: the state's server, the licence, the keys, the API's
/// version and how fast batchgate may ask. Facts from docs (shared spec, "Reading the catalog from
/// Metrc's API"): HTTP Basic with the vendor key as the user and the user key as the password;
/// every endpoint takes `licenseNumber`; at most 50 GETs a second and 10 at once per facility.
public struct MetrcAPI: Sendable, Equatable {
    /// `https://api-wv.metrc.com`, a sandbox, or a loopback server: no path, no trailing slash.
    public var server: String
    public var licenseNumber: String
    public var vendorKey: String
    public var userKey: String
    public var version: Version
    /// GETs started in any one-second span, at most (Metrc allows 50 per facility).
    public var requestsPerSecond: Int
    /// GETs in flight at once, at most (Metrc allows 10 per facility).
    public var concurrentRequests: Int

    /// Metrc's documented limits for one facility.
    public static let maximumRequestsPerSecond = 50
    public static let maximumConcurrentRequests = 10

    public enum Version: String, Sendable, Equatable {
        case v1, v2
    }

    public init(server: String, licenseNumber: String, vendorKey: String, userKey: String, version: Version = .v2,
                requestsPerSecond: Int = MetrcAPI.maximumRequestsPerSecond,
                concurrentRequests: Int = MetrcAPI.maximumConcurrentRequests) {
        self.server = Self.trimmedServer(server)
        self.licenseNumber = licenseNumber
        self.vendorKey = vendorKey
        self.userKey = userKey
        self.version = version
        self.requestsPerSecond = min(max(1, requestsPerSecond), Self.maximumRequestsPerSecond)
        self.concurrentRequests = min(max(1, concurrentRequests), Self.maximumConcurrentRequests)
    }

    /// The server as requests are built from it: without a trailing slash.
    public static func trimmedServer(_ server: String) -> String {
        server.hasSuffix("/") ? String(server.dropLast()) : server
    }

    /// True when `server` is loopback (`127.x`, `localhost`, `[::1]`): the one place plain http may
    /// carry the keys (tests, a local proxy); anywhere else they would cross the network readable.
    public var isLoopback: Bool { URIComponent.hasLoopbackHost(server) }

    /// Metrc's v2 pages hold at most 20 records.
    public static let pageSize = 20

    /// The URL of `endpoint`, with the licence, the window (when given) and, in v2, the page.
    public func url(_ endpoint: MetrcEndpoint, window: SyncWindow? = nil, page: Int? = nil) -> String {
        var query = [("licenseNumber", licenseNumber)]
        if let window {
            query += [("lastModifiedStart", window.startText), ("lastModifiedEnd", window.endText)]
        }
        if version == .v2, endpoint.isPaged, let page {
            query += [("pageNumber", String(page)), ("pageSize", String(Self.pageSize))]
        }
        let encoded = query.map { "\($0.0)=\(Self.queryEncoded($0.1))" }.joined(separator: "&")
        return server + endpoint.path(version) + "?" + encoded
    }

    /// A query value percent-encoded (``URIComponent/percentEncoded(_:)``): a window's `+00:00`
    /// must arrive as `%2B00:00`.
    static func queryEncoded(_ text: String) -> String {
        URIComponent.percentEncoded(text)
    }
}

/// The keys are never shown: a log line, `dump` or a failed test expectation that prints the
/// settings prints `[hidden]` for them.
extension MetrcAPI: CustomStringConvertible, CustomReflectable {
    public var description: String {
        "MetrcAPI(server: \(server), licenseNumber: \(licenseNumber), vendorKey: [hidden], userKey: [hidden], version: \(version.rawValue), "
            + "requestsPerSecond: \(requestsPerSecond), concurrentRequests: \(concurrentRequests))"
    }

    public var customMirror: Mirror {
        Mirror(self, children: ["server": server, "licenseNumber": licenseNumber, "vendorKey": "[hidden]", "userKey": "[hidden]",
                                "version": version, "requestsPerSecond": requestsPerSecond, "concurrentRequests": concurrentRequests])
    }
}

/// What batchgate reads from Metrc: the active items, the packages in each state, and one package
/// by its label (a look-up on a miss).
public enum MetrcEndpoint: Sendable, Equatable, Hashable {
    case activeItems
    case activePackages
    case inactivePackages
    case onHoldPackages
    case package(label: String)

    /// `/items/v2/active`, `/packages/v1/onhold`, `/packages/v2/<label>`.
    public func path(_ version: MetrcAPI.Version) -> String {
        switch self {
        case .activeItems: "/items/\(version.rawValue)/active"
        case .activePackages: "/packages/\(version.rawValue)/active"
        case .inactivePackages: "/packages/\(version.rawValue)/inactive"
        case .onHoldPackages: "/packages/\(version.rawValue)/onhold"
        case .package(let label): "/packages/\(version.rawValue)/\(MetrcAPI.queryEncoded(label))"
        }
    }

    /// Lists page in v2; one package by label is a single object.
    var isPaged: Bool {
        if case .package = self { return false }
        return true
    }

    /// What a person reads in a message: `/packages/v2/active`.
    public var name: String { path(.v2) }
}

/// A span of last-modified times, `[start, end)` in seconds since 1970, as Metrc's
/// `lastModifiedStart`/`lastModifiedEnd` take it.
public struct SyncWindow: Sendable, Equatable {
    public var start: Double
    public var end: Double

    public init(start: Double, end: Double) {
        self.start = start
        self.end = end
    }

    /// The longest window: 24 hours is what every Metrc version takes (v1 refuses more; whether
    /// v2 does is not documented).
    public static let longest: Double = 86_400

    /// Windows of at most `longest` seconds covering `[from, to)`, oldest first: Metrc asks for
    /// large pulls in chronological windows, since a record's LastModified only moves forward.
    public static func plan(from: Double, to: Double, longest: Double = SyncWindow.longest) -> [SyncWindow] {
        guard to > from, longest > 0 else { return [] }
        var windows: [SyncWindow] = []
        var start = from
        while start < to {
            let end = min(start + longest, to)
            windows.append(SyncWindow(start: start, end: end))
            start = end
        }
        return windows
    }

    /// ISO 8601 with an explicit offset (`2026-12-04T17:20:00+00:00`), as Metrc's examples write it.
    var startText: String { Self.text(start) }
    var endText: String { Self.text(end) }

    private static func text(_ seconds: Double) -> String {
        // Whole seconds: Metrc's windows are documented to the second.
        let iso = Timestamp.iso8601(seconds.rounded(.down))  // 2026-12-04T17:20:00.000Z
        return String(iso.prefix(19)) + "+00:00"
    }
}

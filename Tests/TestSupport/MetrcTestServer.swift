import BatchgateConfig
import Foundation

/// metrc_server.py (beside this file): a Metrc-shaped catalog API on 127.0.0.1 in a child process
/// of Debian's python3 — Basic auth, the facility's licence, v2 paging, 24-hour windows, Metrc's
/// rate limits and scripted faults — serving the facility the test last wrote, and logging every
/// request with its timing so that a test can measure the rate and concurrency a client reached.
public final class MetrcTestServer: @unchecked Sendable {
    /// How the server behaves: whom it lets in, its limits and its faults.
    public struct Options: Sendable {
        /// Sent as the Basic user name.
        public var vendorKey = "test-vendor-key"
        /// Sent as the Basic password.
        public var userKey = "test-user-key"
        /// The facility the data file describes; any other `licenseNumber=` answers 401.
        public var licenseNumber = "SF-SBX-WV-1-8002"
        /// Path prefixes answered 403, as for a user key without that permission.
        public var forbiddenPaths: [String] = []
        /// Metrc's limit for one facility: more GETs than this in a second answer 429.
        public var maxPerSecond = 50
        /// Metrc's limit for one facility: more requests than this at once answer 429.
        public var maxConcurrent = 10
        /// Sent as `Retry-After` on every 429 and 503; Metrc's own use of it is reported only
        /// second-hand, so the default is none.
        public var retryAfterSeconds: Int?
        /// The first `failFirst` requests answer `failStatus`.
        public var failFirst = 0
        public var failStatus = 503
        /// How long each request that gets past the limits takes, to reach concurrency on purpose.
        public var latency: Duration = .zero
        /// Accept every request and never answer it.
        public var hang = false
        /// Records (a package's label or an item's name) whose LastModified becomes this time when
        /// the first request for a page after the first arrives, before it is answered: a record
        /// modified while a client pages through its window, shifting the records after it.
        public var movedWhilePaging: [String: Date] = [:]

        /// The defaults: Metrc's limits, no faults.
        public init() {}

        /// The command line metrc_server.py takes for these options.
        var arguments: [String] {
            var arguments = ["--vendor-key", vendorKey, "--user-key", userKey,
                             "--max-per-second", String(maxPerSecond), "--max-concurrent", String(maxConcurrent),
                             "--fail-first", String(failFirst), "--fail-status", String(failStatus),
                             "--latency", String(latency.seconds)]
            for prefix in forbiddenPaths { arguments += ["--forbid", prefix] }
            if let retryAfterSeconds { arguments += ["--retry-after", String(retryAfterSeconds)] }
            if hang { arguments += ["--hang"] }
            for (key, time) in movedWhilePaging.sorted(by: { $0.key < $1.key }) {
                arguments += ["--move-while-paging", "\(key)=\(MetrcTestServer.timestamp(time))"]
            }
            return arguments
        }
    }

    /// One request as the server's log has it. Times are the server's monotonic clock in seconds:
    /// comparable with each other, not with `Date`.
    public struct Request: Sendable, Decodable {
        public var method: String
        public var path: String
        /// The query's names and values, decoded (`%2B` is `+` here, a bare `+` a space).
        public var query: [String: String]
        /// The query as it was sent.
        public var rawQuery: String
        /// Nil for a request the server hangs on.
        public var status: Int?
        public var started: Double
        /// When the answer was ready to send; nil for a request the server hangs on.
        public var ended: Double?
        /// The requests open when this one arrived, itself included (nil for a method it refuses).
        public var inFlight: Int?

        enum CodingKeys: String, CodingKey {
            case method, path, query, rawQuery = "raw_query", status, started, ended, inFlight = "in_flight"
        }
    }

    /// The facility's licence number, as the options gave it.
    public let licenseNumber: String
    /// `http://127.0.0.1:<port>`, without a trailing slash, as a configured Metrc server is written.
    public let url: String
    private let folder: URL
    private let dataFile: URL
    private let logFile: URL
    /// While this file exists the server answers 503 to everything (``setDown(_:)``).
    private let downFile: URL
    private let server: PythonServer

    /// Writes the facility (`items` and `packages`) and starts the server on it.
    public init(_ options: Options = Options(), items: [MetrcItem] = [], packages: [MetrcPackage] = []) throws {
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-metrc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        dataFile = folder.appendingPathComponent("facility.json")
        logFile = folder.appendingPathComponent("requests.jsonl")
        downFile = folder.appendingPathComponent("down")
        licenseNumber = options.licenseNumber
        do {
            try Self.write(Self.document(licenseNumber: options.licenseNumber, items: items, packages: packages), to: dataFile)
            server = try PythonServer("metrc_server.py", arguments: ["--data", dataFile.path, "--out", logFile.path,
                                                                     "--down-file", downFile.path] + options.arguments)
        } catch {
            try? FileManager.default.removeItem(at: folder)
            throw error
        }
        url = "http://127.0.0.1:\(server.port)"
    }

    deinit {
        // Stopped first: the folder holds the file it reads on every request.
        server.stop()
        try? FileManager.default.removeItem(at: folder)
    }

    /// Starts (true) or ends (false) an outage: meanwhile every request answers 503, as Metrc does
    /// when it is down, so a client's retries run out and it must report Metrc unreachable.
    public func setDown(_ down: Bool) throws {
        if down {
            try Data().write(to: downFile)
        } else if FileManager.default.fileExists(atPath: downFile.path) {
            try FileManager.default.removeItem(at: downFile)
        }
    }

    /// Replaces the facility with these records; the next request sees them.
    public func write(items: [MetrcItem], packages: [MetrcPackage]) throws {
        try Self.write(Self.document(licenseNumber: licenseNumber, items: items, packages: packages), to: dataFile)
    }

    /// Replaces the facility with a document of the data file's shape written by hand
    /// (`licenseNumber`, `items`, `packages` with their `state`), for records the builders do
    /// not make.
    public func write(document: [String: Any]) throws {
        try Self.write(document, to: dataFile)
    }

    /// The requests so far, in the order their lines were written.
    public var requests: [Request] {
        get throws {
            guard let data = FileManager.default.contents(atPath: logFile.path) else { return [] }
            return try data.split(separator: UInt8(ascii: "\n")).map { try JSONDecoder().decode(Request.self, from: Data($0)) }
        }
    }

    static func document(licenseNumber: String, items: [MetrcItem], packages: [MetrcPackage]) -> [String: Any] {
        ["licenseNumber": licenseNumber, "items": items.map(\.record), "packages": packages.map(\.dataRecord)]
    }

    /// Writes beside the data file and renames over it, so that a request never reads half of it.
    static func write(_ document: [String: Any], to file: URL) throws {
        let data = try JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
        let temporary = file.deletingLastPathComponent().appendingPathComponent(".\(file.lastPathComponent).\(UUID().uuidString)")
        try data.write(to: temporary)
        guard rename(temporary.path, file.path) == 0 else {
            let reason = String(cString: strerror(errno))
            try? FileManager.default.removeItem(at: temporary)
            throw MetrcTestServerError(description: "cannot rename \(temporary.path) over \(file.path): \(reason)")
        }
    }

    /// A date-time as Metrc writes them, `2026-03-02T14:05:11+00:00` (UTC, offset spelled out).
    public static func timestamp(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyy-MM-dd'T'HH:mm:ssxxx"
        return formatter.string(from: date)
    }

    /// A date as Metrc writes `PackagedDate`, `2026-03-02`.
    public static func day(_ date: Date) -> String {
        String(timestamp(date).prefix(10))
    }
}

/// A failure of the test server's own set-up, naming the file it concerns.
public struct MetrcTestServerError: Error, CustomStringConvertible {
    public var description: String
}

/// An item record with Metrc-like defaults (a weight-based `Buds` item in grams).
public struct MetrcItem: Sendable {
    public var id: Int
    public var name: String
    public var categoryName: String
    /// A string on the items endpoint (`Buds`, `Concentrate`, …); nested in a package it is an
    /// integer, see ``MetrcPackage/itemCategoryTypeCode``.
    public var categoryType: String
    /// `WeightBased`, `CountBased` or `VolumeBased`.
    public var quantityType: String
    public var unit: String
    public var strainName: String?
    public var lastModified: Date

    /// An item; its category name doubles as its category type unless told.
    public init(id: Int, name: String, categoryName: String = "Buds", categoryType: String? = nil,
                quantityType: String = "WeightBased", unit: String = "Grams", strainName: String? = nil,
                lastModified: Date) {
        self.id = id
        self.name = name
        self.categoryName = categoryName
        self.categoryType = categoryType ?? categoryName
        self.quantityType = quantityType
        self.unit = unit
        self.strainName = strainName
        self.lastModified = lastModified
    }

    /// The record as `/items/v2/active` answers it.
    public var record: [String: Any] {
        ["Id": id, "Name": name, "ProductCategoryName": categoryName, "ProductCategoryType": categoryType,
         "QuantityType": quantityType, "UnitOfMeasureName": unit, "StrainName": strainName ?? NSNull(),
         "ApprovalStatus": "Approved", "IsUsed": true, "LastModified": MetrcTestServer.timestamp(lastModified)]
    }
}

/// A package record with Metrc-like defaults (10 grams, tested, active), carrying the fields of
/// stock and state Metrc's package endpoints answer with (`Quantity`, `UnitOfMeasureName`,
/// `PackagedDate`, `IsOnHold`, `IsFinished`, `FinishedDate`, `ArchivedDate`, `LabTestingState`,
/// `ProductionBatchNumber`, `LastModified`, the nested `Item`).
public struct MetrcPackage: Sendable {
    /// Which list endpoint answers it (`/packages/v2/active`, `…/inactive`, `…/onhold`).
    public enum State: String, Sendable {
        case active, inactive, onHold = "onhold"
    }

    /// How the nested item's `QuantityType` is written: Metrc's package examples write an
    /// integer (`0`) where the items endpoint writes a name; which number stands for which name
    /// is not documented.
    public enum NestedQuantityType: Sendable {
        /// An integer, as in Metrc's package examples.
        case code(Int)
        /// The item's own name for it (`WeightBased`), as the items endpoint writes it.
        case name
        /// Left out of the nested item.
        case absent
    }

    public var id: Int
    /// The tag: 24 characters `[A-Z0-9]`.
    public var label: String
    public var item: MetrcItem
    public var quantity: Double
    public var unit: String
    public var state: State
    public var sourcePackageLabels: [String]
    /// Nil when the package is not a production batch; Metrc writes it `null` or `""` then.
    public var productionBatchNumber: String?
    public var labTestingState: String
    public var lastModified: Date
    /// `PackagedDate`; the day it was last modified unless told.
    public var packagedDate: Date?
    /// `ArchivedDate`; none unless told.
    public var archivedDate: Date?
    /// Whether the record says its state itself (`IsOnHold`, `IsFinished`, `FinishedDate`, from
    /// ``state``); false leaves them out, so that only the list that answers it tells the state.
    public var statesInRecord: Bool
    /// The nested item's `ProductCategoryType`: an integer in Metrc's package examples (`0`),
    /// where the items endpoint gives a name. Which number stands for which name is not
    /// documented, so it is set apart from the item's.
    public var itemCategoryTypeCode: Int
    /// The nested item's `QuantityType`.
    public var itemQuantityType: NestedQuantityType

    /// A package of `item`, packaged on the day it was last modified unless told.
    public init(id: Int, label: String, item: MetrcItem, quantity: Double = 10, unit: String? = nil, state: State = .active,
                sourcePackageLabels: [String] = [], productionBatchNumber: String? = nil, labTestingState: String = "TestPassed",
                lastModified: Date, packagedDate: Date? = nil, archivedDate: Date? = nil, statesInRecord: Bool = true,
                itemCategoryTypeCode: Int = 0, itemQuantityType: NestedQuantityType = .code(0)) {
        self.id = id
        self.label = label
        self.item = item
        self.quantity = quantity
        self.unit = unit ?? item.unit
        self.state = state
        self.sourcePackageLabels = sourcePackageLabels
        self.productionBatchNumber = productionBatchNumber
        self.labTestingState = labTestingState
        self.lastModified = lastModified
        self.packagedDate = packagedDate
        self.archivedDate = archivedDate
        self.statesInRecord = statesInRecord
        self.itemCategoryTypeCode = itemCategoryTypeCode
        self.itemQuantityType = itemQuantityType
    }

    /// The record as `/packages/v2/{label}` answers it.
    public var record: [String: Any] {
        var nestedItem: [String: Any] = [
            "Id": item.id, "Name": item.name, "ProductCategoryName": item.categoryName,
            "ProductCategoryType": itemCategoryTypeCode,
            "UnitOfMeasureName": item.unit, "StrainName": item.strainName ?? NSNull(),
        ]
        switch itemQuantityType {
        case .code(let code): nestedItem["QuantityType"] = code
        case .name: nestedItem["QuantityType"] = item.quantityType
        case .absent: break
        }
        var record: [String: Any] = [
            "Id": id, "Label": label, "PackageType": "Product", "Quantity": quantity, "UnitOfMeasureName": unit,
            "PackagedDate": MetrcTestServer.day(packagedDate ?? lastModified), "LabTestingState": labTestingState,
            "IsProductionBatch": !(productionBatchNumber ?? "").isEmpty, "ProductionBatchNumber": productionBatchNumber ?? NSNull(),
            // One label per record in the public examples; how Metrc separates several is not in
            // the spec, a comma and a space is a guess.
            "SourcePackageLabels": sourcePackageLabels.joined(separator: ", "),
            "ArchivedDate": archivedDate.map(MetrcTestServer.day) ?? NSNull(),
            "LastModified": MetrcTestServer.timestamp(lastModified), "Item": nestedItem,
        ]
        if statesInRecord {
            record["IsOnHold"] = state == .onHold
            record["IsFinished"] = state == .inactive
            record["FinishedDate"] = state == .inactive ? MetrcTestServer.day(lastModified) : NSNull()
        }
        return record
    }

    /// The record with the data file's own `state`, which the server takes out before answering.
    var dataRecord: [String: Any] {
        record.merging(["state": state.rawValue]) { _, new in new }
    }
}

#if canImport(Glibc)
import Glibc
#endif
import BatchgateCore
import BatchgateSystem

/// The cache file in the state root: `<stateRoot>/catalog/metrc.json` (the caller makes the folder
/// and passes the path). It lets a restart while Metrc is down still know the catalog it had.
///
/// JSON, `"version": 2`: the facility, each part's state, then the items and the packages, each
/// a list of its fields in the order `itemFields` and `packageFields` name them (null for one
/// absent; flags as `true`/`false`, quantities as numbers). Lists rather than objects: a
/// facility's 100,000 packages would otherwise repeat sixteen names each, more than half the
/// file, and reading them back would cost as much again.
///
///     {"version":2,"server":"https://api-wv.metrc.com","licenseNumber":"…",
///      "parts":{"items":{"syncedUntil":…,"syncedAt":…,"count":…},…},
///      "itemFields":["name","category","quantityType","unitOfMeasure","lastModified","learnedAt"],
///      "items":[["Blue Dream Buds","Buds","WeightBased","Grams","2026-12-01T10:00:00+00:00",1796083300.5],…],
///      "packageFields":["tag","item","category","itemQuantityType","quantity","unitOfMeasure","packagedDate",
///                       "isOnHold","isFinished","finishedDate","archivedDate","labTestingState",
///                       "productionBatchNumber","part","lastModified","learnedAt"],
///      "packages":[["1A4FF0100000022000000001","Blue Dream Buds","Buds",null,1360.8,"Grams","2026-11-30",
///                   false,false,null,null,"TestPassed",null,"packages.active","2026-12-01T10:00:00+00:00",1796083300.5],…]}
///
/// `itemFields` and `packageFields` are written for a person reading the file; the reader checks
/// them, so a file whose fields are in another order is not misread. A package's record is kept
/// as Metrc gave it: what its part says of its state is added when the catalog is built
/// (``MetrcSnapshot/Package/catalogEntry``), not stored.
///
/// A file of version 1 (before quantities and states were kept: items of name, category,
/// lastModified, learnedAt; packages of tag, item, category, part, lastModified, learnedAt) is
/// still read, its new fields nil and its parts marked never synced: its records keep serving
/// categories while the next sync, a first one, refills every record with its quantity and state.
public enum MetrcCacheFile {
    /// The version this batchgate writes, and the newest it reads.
    static let version = 2
    /// The oldest version it reads.
    static let oldestVersion = 1
    /// The largest file read: far above 100,000 packages (about 20 MB), and below what would
    /// exhaust the memory of a small machine if something else took the name.
    static let largestFile = 1 << 30

    /// A cache as read: its snapshot, and the version of the file it was read from.
    public struct Contents: Sendable {
        public var snapshot: MetrcSnapshot
        /// The file's version: below ``MetrcCacheFile/version`` when it was written by an older
        /// batchgate, whose records lack fields (the snapshot's parts are then never synced).
        public var version: Int

        /// Whether the file was of an older version: kept for its categories, its parts to be
        /// synced again from the start.
        public var isOlderVersion: Bool { version < MetrcCacheFile.version }
    }

    /// The snapshot the file at `path` holds; nil when there is no file.
    /// - Throws: ``MetrcCacheError`` naming the path and what is wrong, for a file that cannot be
    ///   read or is not a cache of a version this batchgate reads (cut short, garbage, a newer
    ///   version). The caller logs it and starts afresh; nothing here ends the process.
    public static func load(_ path: String) throws(MetrcCacheError) -> MetrcSnapshot? {
        try read(path)?.snapshot
    }

    /// The cache at `path` with the version of its file (``load(_:)`` for a caller that says
    /// when an older version is upgraded); nil when there is no file.
    /// - Throws: ``MetrcCacheError`` as ``load(_:)`` does.
    public static func read(_ path: String) throws(MetrcCacheError) -> Contents? {
        let bytes: [UInt8]
        do {
            bytes = try RegularFile.read(path, limit: largestFile)
        } catch {
            if error.problem == .cannotOpen(errno: ENOENT) { return nil }
            throw MetrcCacheError(path: path, problem: .cannotRead(error.described(as: "the file")))
        }
        return try decodeContents(bytes, path: path)
    }

    /// Writes `snapshot` to `path` atomically: a temporary file in the same folder, flushed to
    /// disk, renamed over `path`, and the folder flushed. A `kill -9` (or a power cut) at any
    /// instant leaves the old file or the new one whole under `path`, never part of either.
    /// - Throws: ``MetrcCacheError`` naming the path and the failed step; the file under `path`
    ///   is then as it was, and no temporary file is left.
    public static func save(_ snapshot: MetrcSnapshot, to path: String) throws(MetrcCacheError) {
        try save(snapshot, to: path, stoppingAfter: nil)
    }

    // MARK: Writing

    /// The points of a save at which a test stops it, as a `kill -9` would.
    enum SaveStep: CaseIterable {
        /// The temporary file is written, not yet flushed.
        case temporaryWritten
        /// It is flushed, not yet renamed.
        case temporaryFlushed
        /// It is renamed over the file, the folder not yet flushed.
        case renamed
    }

    /// How old a temporary file of another process must be to be taken for one a crash left:
    /// no save takes anywhere near this long, so one younger may be another process's save in
    /// progress (a `batchgate catalog sync` beside the daemon).
    static let abandonedAfter: Double = 600

    /// ``save(_:to:)``, returning without a word once `stop` is reached (tests: a process killed
    /// there), so that what it leaves on disk can be looked at.
    static func save(_ snapshot: MetrcSnapshot, to path: String, stoppingAfter stop: SaveStep?) throws(MetrcCacheError) {
        let (folder, name) = split(path)
        // The process id keeps two processes saving at once from writing into one temporary file;
        // the rename makes the last one to finish the file's content.
        let temporary = ".\(name).\(getpid()).tmp"
        let temporaryPath = folder + "/" + temporary
        let bytes = encode(snapshot)
        do throws(SystemError) {
            let directory = try System.openDirectory(folder)
            defer { System.close(directory) }
            removeAbandoned(in: directory, folder: folder, name: name, keeping: temporary)
            try System.unlinkIfPresent(in: directory, temporary, describing: temporaryPath)
            // createFile removes what it created when the write fails (a full disk).
            let fd = try System.createFile(in: directory, temporary, contents: bytes, describing: temporaryPath)
            do throws(SystemError) {
                defer { System.close(fd) }
                if stop == .temporaryWritten { return }
                try System.fsync(fd, describing: temporaryPath)
                if stop == .temporaryFlushed { return }
                try System.rename(in: directory, temporary, to: directory, name, describing: path)
            } catch {
                try? System.unlink(in: directory, temporary, describing: temporaryPath)
                throw error
            }
            if stop == .renamed { return }
            // The rename reaches the disk with the folder: until then a power cut could undo it.
            try System.fsync(directory, describing: folder)
        } catch {
            throw MetrcCacheError(path: path, problem: .cannotWrite(error.description))
        }
    }

    /// Removes temporary files of earlier saves that a crash left (`.metrc.json.<pid>.tmp`) and
    /// that are older than ``abandonedAfter``; `keeping` (this process's) is left to the caller.
    /// Tidying only: a folder that cannot be listed is no reason not to save.
    private static func removeAbandoned(in directory: Int32, folder: String, name: String, keeping: String) {
        let prefix = ".\(name).", now = System.wallClock()
        for entry in (try? System.listDirectory(folder)) ?? [] {
            guard let candidate = entry.name, candidate != keeping, candidate.hasPrefix(prefix), candidate.hasSuffix(".tmp") else { continue }
            // One gone meanwhile, or that cannot be looked at, is no reason not to save.
            guard let info = try? System.lstatAt(directory, candidate, in: folder + "/"),
                  Double(info.st_mtim.tv_sec) < now - abandonedAfter else { continue }
            _ = try? System.unlinkIfPresent(in: directory, candidate, describing: folder + "/" + candidate)
        }
    }

    /// The folder and the name of `path` (`.` when it names no folder).
    static func split(_ path: String) -> (folder: String, name: String) {
        guard let slash = path.lastIndex(of: "/") else { return (".", path) }
        let folder = String(path[..<slash])
        return (folder.isEmpty ? "/" : folder, String(path[path.index(after: slash)...]))
    }

    // MARK: The records' fields

    /// A field of an item's list, by the name `itemFields` writes.
    enum ItemField: Int, CaseIterable, CacheField {
        case name, category, quantityType, unitOfMeasure, lastModified, learnedAt
    }

    /// A field of a package's list, by the name `packageFields` writes.
    enum PackageField: Int, CaseIterable, CacheField {
        case tag, item, category, itemQuantityType, quantity, unitOfMeasure, packagedDate, isOnHold, isFinished,
             finishedDate, archivedDate, labTestingState, productionBatchNumber, part, lastModified, learnedAt
    }

    /// Where each field sits in one version's lists.
    struct Layout<Field: CacheField>: Sendable {
        /// The fields in the order the file's lists hold them.
        let fields: [Field]
        /// The position in a list of each field, by its raw value; nil for a field this version lacks.
        let positions: [Int?]

        init(_ fields: [Field]) {
            self.fields = fields
            var positions = [Int?](repeating: nil, count: Field.allCases.count)
            for (position, field) in fields.enumerated() { positions[field.rawValue] = position }
            self.positions = positions
        }

        /// The names the file writes for these fields (`itemFields`, `packageFields`).
        var names: [String] { fields.map(\.name) }
    }

    /// The lists of the version written: every field, in the order the fields are declared.
    static let itemLayout = Layout(ItemField.allCases)
    static let packageLayout = Layout(PackageField.allCases)

    /// The lists of each older version read.
    static let olderItemLayouts: [Int: Layout<ItemField>] = [1: Layout([.name, .category, .lastModified, .learnedAt])]
    static let olderPackageLayouts: [Int: Layout<PackageField>] = [1: Layout([.tag, .item, .category, .part, .lastModified, .learnedAt])]

    /// The field names of an item's list and of a package's, in order.
    static var itemFields: [String] { itemLayout.names }
    static var packageFields: [String] { packageLayout.names }

    // MARK: Encoding

    /// The file's bytes. Records are in no particular order: sorting 100,000 tags costs more than
    /// the rest of a save, for a file only batchgate reads. Each record is written field by field
    /// in the order ``ItemField`` and ``PackageField`` declare (the round-trip tests hold them to it).
    static func encode(_ snapshot: MetrcSnapshot) -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("version"); json.int(version)
        json.key("server"); json.string(snapshot.server)
        json.key("licenseNumber"); json.string(snapshot.licenseNumber)
        json.key("parts")
        json.beginObject()
        for part in CatalogPart.allCases {
            guard let state = snapshot.parts[part] else { continue }
            json.key(part.rawValue)
            json.beginObject()
            json.key("syncedUntil"); json.number(state.syncedUntil)
            json.key("syncedAt"); json.number(state.syncedAt)
            json.key("count"); json.int(state.count)
            json.endObject()
        }
        json.endObject()
        json.key("itemFields"); json.strings(itemFields)
        json.key("items")
        json.beginArray()
        for item in snapshot.items {
            let entry = item.entry
            json.beginArray()
            json.string(entry.name)
            json.string(entry.category)
            json.string(entry.quantityType?.rawValue)
            json.string(entry.unitOfMeasure)
            json.string(item.lastModified)
            json.number(item.learnedAt)
            json.endArray()
        }
        json.endArray()
        json.key("packageFields"); json.strings(packageFields)
        json.key("packages")
        json.beginArray()
        for package in snapshot.packages {
            let entry = package.entry
            json.beginArray()
            json.string(entry.tag)
            json.string(entry.item)
            json.string(entry.category)
            json.string(entry.itemQuantityType?.rawValue)
            // The shortest text that reads back as the same Double: a quantity round-trips exactly.
            json.number(entry.quantity)
            json.string(entry.unitOfMeasure)
            json.string(entry.packagedDate)
            json.flag(entry.isOnHold)
            json.flag(entry.isFinished)
            json.string(entry.finishedDate)
            json.string(entry.archivedDate)
            json.string(entry.labTestingState)
            json.string(entry.productionBatchNumber)
            json.string(package.part?.rawValue)
            json.string(package.lastModified)
            json.number(package.learnedAt)
            json.endArray()
        }
        json.endArray()
        json.endObject()
        return json.bytes + [0x0A]
    }

    // MARK: Decoding

    /// The snapshot `bytes` hold; `path` names the file in errors.
    static func decode(_ bytes: [UInt8], path: String) throws(MetrcCacheError) -> MetrcSnapshot {
        try decodeContents(bytes, path: path).snapshot
    }

    /// The snapshot `bytes` hold, with the file's version; `path` names the file in errors.
    static func decodeContents(_ bytes: [UInt8], path: String) throws(MetrcCacheError) -> Contents {
        let top = try topLevel(bytes, path: path)
        var (snapshot, version) = try decodeHead(top, path: path)
        func notACache(_ reason: String) -> MetrcCacheError { MetrcCacheError(path: path, problem: .notACache(reason)) }

        // decodeHead accepts only the versions these tables hold.
        let itemLayout = version == Self.version ? Self.itemLayout : olderItemLayouts[version]!
        let packageLayout = version == Self.version ? Self.packageLayout : olderPackageLayouts[version]!
        guard texts(top["itemFields"]) == itemLayout.names, texts(top["packageFields"]) == packageLayout.names else {
            throw notACache("a cache of version \(version) lists itemFields \(itemLayout.names) and packageFields \(packageLayout.names)")
        }
        for (index, element) in try list("items", in: top, path: path).enumerated() {
            let record = try Record(element, layout: itemLayout, place: "items[\(index)]", path: path)
            let entry = Catalog.Item(name: try record.requiredText(.name), category: try record.requiredText(.category),
                                     quantityType: try record.quantityType(.quantityType),
                                     unitOfMeasure: try record.text(.unitOfMeasure))
            snapshot.insert(MetrcSnapshot.Item(entry: entry, lastModified: try record.text(.lastModified),
                                               learnedAt: try record.requiredNumber(.learnedAt)))
        }
        for (index, element) in try list("packages", in: top, path: path).enumerated() {
            let record = try Record(element, layout: packageLayout, place: "packages[\(index)]", path: path)
            var part: CatalogPart?
            if let name = try record.text(.part) {
                guard let known = CatalogPart(rawValue: name) else { throw notACache("packages[\(index)]: \(name) is no part of the catalog") }
                part = known
            }
            let entry = Catalog.Package(
                tag: try record.requiredText(.tag), item: try record.text(.item), category: try record.text(.category),
                quantity: try record.number(.quantity), unitOfMeasure: try record.text(.unitOfMeasure),
                packagedDate: try record.text(.packagedDate), isOnHold: try record.flag(.isOnHold),
                isFinished: try record.flag(.isFinished), finishedDate: try record.text(.finishedDate),
                archivedDate: try record.text(.archivedDate), labTestingState: try record.text(.labTestingState),
                productionBatchNumber: try record.text(.productionBatchNumber),
                itemQuantityType: try record.quantityType(.itemQuantityType))
            snapshot.insert(MetrcSnapshot.Package(entry: entry, part: part, lastModified: try record.text(.lastModified),
                                                  learnedAt: try record.requiredNumber(.learnedAt)))
        }
        snapshot.rebuildCatalog()
        return Contents(snapshot: snapshot, version: version)
    }

    /// The members of the file's top-level object.
    static func topLevel(_ bytes: [UInt8], path: String) throws(MetrcCacheError) -> Fields {
        let text: ArraySlice<UInt8>
        do {
            text = try TextInput.validate(bytes, maximumSize: largestFile)
        } catch {
            throw MetrcCacheError(path: path, problem: .notACache(error == .empty ? "it is empty" : "it is not UTF-8 text (\(error))"))
        }
        let root: JSONElement
        do {
            root = try JSONParser.parse(text)
        } catch {
            throw MetrcCacheError(path: path, problem: .notJSON(line: error.line, column: error.column, reason: error.reason))
        }
        guard case .object(let members) = root.value else {
            throw MetrcCacheError(path: path, problem: .notACache("expected an object, found \(root.value.kindDescription)"))
        }
        return Fields(members)
    }

    /// The facility and the parts' states the top-level members name, and the file's version: a
    /// snapshot without records. The parts of an older version are left out, so that the next
    /// sync is a first one and refills the fields that version did not keep.
    static func decodeHead(_ top: Fields, path: String) throws(MetrcCacheError) -> (MetrcSnapshot, version: Int) {
        func notACache(_ reason: String) -> MetrcCacheError { MetrcCacheError(path: path, problem: .notACache(reason)) }
        guard let versionValue = top["version"] else { throw notACache("it has no version") }
        guard case .number(let number) = versionValue, let version = Int(exactly: number),
              (oldestVersion...Self.version).contains(version) else {
            throw MetrcCacheError(path: path, problem: .unsupportedVersion(found: describe(versionValue)))
        }
        guard let server = top.text("server"), let licence = top.text("licenseNumber") else {
            throw notACache("it has no server or licenseNumber")
        }
        var snapshot = MetrcSnapshot(server: server, licenseNumber: licence)
        guard case .object(let partMembers)? = top["parts"] else { throw notACache("parts must be an object") }
        for member in partMembers {
            guard let part = CatalogPart(rawValue: member.key) else { throw notACache("parts: \(member.key) is no part of the catalog") }
            guard case .object(let fields) = member.value, case let state = Fields(fields),
                  let until = state.number("syncedUntil"), let at = state.number("syncedAt"), let count = state.number("count"),
                  let whole = Int(exactly: count) else {
                throw notACache("parts.\(member.key) needs syncedUntil, syncedAt and count as numbers")
            }
            if version == Self.version { snapshot.restore(part, MetrcSnapshot.PartState(syncedUntil: until, syncedAt: at, count: whole)) }
        }
        return (snapshot, version)
    }

    /// The list under `key`.
    private static func list(_ key: String, in fields: Fields, path: String) throws(MetrcCacheError) -> [JSONElement] {
        guard case .array(let elements)? = fields[key] else {
            throw MetrcCacheError(path: path, problem: .notACache("\(key) must be a list"))
        }
        return elements
    }

    /// The texts of a list of texts; nil for anything else.
    private static func texts(_ value: JSONValue?) -> [String]? {
        guard case .array(let elements)? = value else { return nil }
        var texts: [String] = []
        for element in elements {
            guard case .string(let text) = element.value else { return nil }
            texts.append(text)
        }
        return texts
    }

    /// A value for a message: the text itself when it is text, else its kind.
    static func describe(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): "\"\(text)\""
        case .number(let number): Int(exactly: number).map(String.init) ?? String(number)
        default: value.kindDescription
        }
    }

    /// One record's list of fields, read by field and checked for the field's type: a value of
    /// another type is an error naming the record and the field.
    private struct Record<Field: CacheField> {
        let values: [JSONElement]
        let layout: Layout<Field>
        /// The record in messages: `packages[12]`.
        let place: String
        let path: String

        /// - Throws: when `element` is not a list of one value per field of `layout`.
        init(_ element: JSONElement, layout: Layout<Field>, place: String, path: String) throws(MetrcCacheError) {
            guard case .array(let values) = element.value else {
                throw MetrcCacheError(path: path, problem: .notACache("\(place) must be a list of \(layout.names.joined(separator: ", ")), found \(element.value.kindDescription)"))
            }
            guard values.count == layout.fields.count else {
                throw MetrcCacheError(path: path, problem: .notACache("\(place) must be a list of \(layout.names.joined(separator: ", ")), found \(values.count) values"))
            }
            self.values = values
            self.layout = layout
            self.place = place
            self.path = path
        }

        /// The field's value; nil when this version has no such field.
        private func value(_ field: Field) -> JSONValue? {
            layout.positions[field.rawValue].map { values[$0].value }
        }

        private func wrong(_ field: Field, _ value: JSONValue, _ expected: String) -> MetrcCacheError {
            MetrcCacheError(path: path, problem: .notACache("\(place): \(field.name) must be \(expected), found \(MetrcCacheFile.describe(value))"))
        }

        /// Text, or nil for null or a field the version lacks.
        func text(_ field: Field) throws(MetrcCacheError) -> String? {
            switch value(field) {
            case .string(let text)?: return text
            case .null?, nil: return nil
            case let other?: throw wrong(field, other, "text or null")
            }
        }

        func requiredText(_ field: Field) throws(MetrcCacheError) -> String {
            guard case .string(let text)? = value(field) else { throw wrong(field, value(field) ?? .null, "text") }
            return text
        }

        /// A number, or nil for null or a field the version lacks.
        func number(_ field: Field) throws(MetrcCacheError) -> Double? {
            switch value(field) {
            case .number(let number)?: return number
            case .null?, nil: return nil
            case let other?: throw wrong(field, other, "a number or null")
            }
        }

        func requiredNumber(_ field: Field) throws(MetrcCacheError) -> Double {
            guard case .number(let number)? = value(field) else { throw wrong(field, value(field) ?? .null, "a number") }
            return number
        }

        /// true or false, or nil for null or a field the version lacks.
        func flag(_ field: Field) throws(MetrcCacheError) -> Bool? {
            switch value(field) {
            case .bool(let flag)?: return flag
            case .null?, nil: return nil
            case let other?: throw wrong(field, other, "true, false or null")
            }
        }

        /// One of Metrc's quantity types, or nil for null or a field the version lacks.
        func quantityType(_ field: Field) throws(MetrcCacheError) -> QuantityType? {
            guard let name = try text(field) else { return nil }
            guard let type = QuantityType(rawValue: name) else {
                throw wrong(field, .string(name), QuantityType.allCases.map(\.rawValue).joined(separator: ", ") + " or null")
            }
            return type
        }
    }

    /// An object's members by key; the few a record has are searched in order.
    struct Fields {
        let members: [JSONMember]

        init(_ members: [JSONMember]) { self.members = members }

        subscript(key: String) -> JSONValue? { members.last { $0.key == key }?.value }

        func text(_ key: String) -> String? {
            if case .string(let value)? = self[key] { return value }
            return nil
        }

        func number(_ key: String) -> Double? {
            if case .number(let value)? = self[key] { return value }
            return nil
        }
    }
}

/// A field of a cache record: its position among the fields of its kind (the raw value) and
/// the name the file's field lists write.
protocol CacheField: RawRepresentable<Int>, CaseIterable, Sendable {}

extension CacheField {
    /// The name the field lists write: the case's own name.
    var name: String { String(describing: self) }
}

extension JSONWriter {
    /// Writes `true`, `false` or `null`.
    fileprivate mutating func flag(_ value: Bool?) {
        if let value { bool(value) } else { string(nil) }
    }
}

/// A cache file that cannot be used or written, naming it and what is wrong.
public struct MetrcCacheError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong.
    public enum Problem: Sendable, Equatable {
        /// It exists but cannot be read: the reason (permissions, not a regular file, too large).
        case cannotRead(String)
        /// It is not JSON: cut short, or overwritten with something else.
        case notJSON(line: Int, column: Int, reason: String)
        /// It is JSON but not a cache: what is missing or wrong.
        case notACache(String)
        /// It is a cache of a version this batchgate does not read; `found` is the version as written.
        case unsupportedVersion(found: String)
        /// Saving it failed: the step and the system's reason.
        case cannotWrite(String)
    }

    /// The cache file's path.
    public var path: String
    public var problem: Problem

    public init(path: String, problem: Problem) {
        self.path = path
        self.problem = problem
    }

    public var description: String {
        switch problem {
        case .cannotRead(let reason):
            "cannot read the Metrc catalog cache \(path): \(reason)"
        case .notJSON(let line, let column, let reason):
            "the Metrc catalog cache \(path) is not a cache: line \(line), column \(column): \(reason) (a file cut short or overwritten)"
        case .notACache(let reason):
            "the Metrc catalog cache \(path) is not a cache: \(reason)"
        case .unsupportedVersion(let found):
            "the Metrc catalog cache \(path) is of version \(found); this batchgate reads versions \(MetrcCacheFile.oldestVersion) to \(MetrcCacheFile.version) only"
        case .cannotWrite(let reason):
            "cannot save the Metrc catalog cache \(path): \(reason); the file there is as it was"
        }
    }
}

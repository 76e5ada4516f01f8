#if canImport(Glibc)
import Glibc
#endif
import BatchgateCore
import BatchgateSystem

/// The cache file in the state root: `<stateRoot>/catalog/metrc.json` (the caller makes the folder
/// and passes the path). It lets a restart while Metrc is down still know the catalog it had.
///
/// JSON, `"version": 1`: the facility, each part's state, then the items and the packages, each
/// a list of its fields in the order `itemFields` and `packageFields` name them (null for one
/// absent). Lists rather than objects: a facility's 100,000 packages would otherwise repeat six
/// names each, a third of the file, and reading them back would cost as much again.
///
///     {"version":1,"server":"https://api-wv.metrc.com","licenseNumber":"…",
///      "parts":{"items":{"syncedUntil":…,"syncedAt":…,"count":…},…},
///      "itemFields":["name","category","lastModified","learnedAt"],
///      "items":[["Blue Dream Buds","Buds","2026-12-01T10:00:00+00:00",1796083300.5],…],
///      "packageFields":["tag","item","category","part","lastModified","learnedAt"],
///      "packages":[["1A4FF0100000022000000001","Blue Dream Buds","Buds","packages.active",null,1796083300.5],…]}
///
/// `itemFields` and `packageFields` are written for a person reading the file; the reader checks
/// them, so a file whose fields are in another order is not misread.
public enum MetrcCacheFile {
    /// The version this batchgate writes and reads.
    static let version = 1
    /// The largest file read: far above 100,000 packages (about 12 MB), and below what would
    /// exhaust the memory of a small machine if something else took the name.
    static let largestFile = 1 << 30

    /// The snapshot the file at `path` holds; nil when there is no file.
    /// - Throws: ``MetrcCacheError`` naming the path and what is wrong, for a file that cannot be
    ///   read or is not a cache of this version (cut short, garbage, another version). The caller
    ///   logs it and starts afresh; nothing here ends the process.
    public static func load(_ path: String) throws(MetrcCacheError) -> MetrcSnapshot? {
        let bytes: [UInt8]
        do {
            bytes = try RegularFile.read(path, limit: largestFile)
        } catch {
            if error.problem == .cannotOpen(errno: ENOENT) { return nil }
            throw MetrcCacheError(path: path, problem: .cannotRead(error.described(as: "the file")))
        }
        return try decode(bytes, path: path)
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

    /// The fields of an item's list and of a package's, in order.
    static let itemFields = ["name", "category", "lastModified", "learnedAt"]
    static let packageFields = ["tag", "item", "category", "part", "lastModified", "learnedAt"]

    /// The file's bytes. Records are in no particular order: sorting 100,000 tags costs more than
    /// the rest of a save, for a file only batchgate reads.
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
            json.beginArray()
            json.string(item.name)
            json.string(item.category)
            json.string(item.lastModified)
            json.number(item.learnedAt)
            json.endArray()
        }
        json.endArray()
        json.key("packageFields"); json.strings(packageFields)
        json.key("packages")
        json.beginArray()
        for package in snapshot.packages {
            json.beginArray()
            json.string(package.tag)
            json.string(package.item)
            json.string(package.category)
            json.string(package.part?.rawValue)
            json.string(package.lastModified)
            json.number(package.learnedAt)
            json.endArray()
        }
        json.endArray()
        json.endObject()
        return json.bytes + [0x0A]
    }

    // MARK: Reading

    /// The snapshot `bytes` hold; `path` names the file in errors.
    static func decode(_ bytes: [UInt8], path: String) throws(MetrcCacheError) -> MetrcSnapshot {
        func notACache(_ reason: String) -> MetrcCacheError { MetrcCacheError(path: path, problem: .notACache(reason)) }
        let text: ArraySlice<UInt8>
        do {
            text = try TextInput.validate(bytes, maximumSize: largestFile)
        } catch {
            throw notACache(error == .empty ? "it is empty" : "it is not UTF-8 text (\(error))")
        }
        let root: JSONElement
        do {
            root = try JSONParser.parse(text)
        } catch {
            throw MetrcCacheError(path: path, problem: .notJSON(line: error.line, column: error.column, reason: error.reason))
        }
        guard case .object(let members) = root.value else { throw notACache("expected an object, found \(root.value.kindDescription)") }
        let top = Fields(members)
        guard let versionValue = top["version"] else { throw notACache("it has no version") }
        guard case .number(let version) = versionValue, version == Double(Self.version) else {
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
            snapshot.restore(part, MetrcSnapshot.PartState(syncedUntil: until, syncedAt: at, count: whole))
        }

        guard texts(top["itemFields"]) == itemFields, texts(top["packageFields"]) == packageFields else {
            throw notACache("itemFields must be \(itemFields) and packageFields \(packageFields)")
        }
        for (index, element) in try list("items", in: top, path: path).enumerated() {
            let fields = Record(element)
            guard fields.count == itemFields.count, let name = fields.text(0), let category = fields.text(1), fields.isTextOrNull(2),
                  let learnedAt = fields.number(3) else {
                throw notACache("items[\(index)] must be a list of \(itemFields.joined(separator: ", ")) (name and category as text)")
            }
            snapshot.insert(MetrcSnapshot.Item(name: name, category: category, lastModified: fields.text(2), learnedAt: learnedAt))
        }
        for (index, element) in try list("packages", in: top, path: path).enumerated() {
            let fields = Record(element)
            guard fields.count == packageFields.count, let tag = fields.text(0), fields.isTextOrNull(1), fields.isTextOrNull(2),
                  fields.isTextOrNull(3), fields.isTextOrNull(4), let learnedAt = fields.number(5) else {
                throw notACache("packages[\(index)] must be a list of \(packageFields.joined(separator: ", ")) (the tag as text)")
            }
            var part: CatalogPart?
            if let name = fields.text(3) {
                guard let known = CatalogPart(rawValue: name) else { throw notACache("packages[\(index)]: \(name) is no part of the catalog") }
                part = known
            }
            snapshot.insert(MetrcSnapshot.Package(tag: tag, item: fields.text(1), category: fields.text(2), part: part,
                                                  lastModified: fields.text(4), learnedAt: learnedAt))
        }
        snapshot.rebuildCatalog()
        return snapshot
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
    private static func describe(_ value: JSONValue) -> String {
        switch value {
        case .string(let text): "\"\(text)\""
        case .number(let number): Int(exactly: number).map(String.init) ?? String(number)
        default: value.kindDescription
        }
    }

    /// One record's list of fields (empty when it is not a list).
    private struct Record {
        let values: [JSONElement]

        init(_ element: JSONElement) {
            if case .array(let values) = element.value { self.values = values } else { values = [] }
        }

        var count: Int { values.count }

        func text(_ index: Int) -> String? {
            if case .string(let value) = values[index].value { return value }
            return nil
        }

        func number(_ index: Int) -> Double? {
            if case .number(let value) = values[index].value { return value }
            return nil
        }

        func isTextOrNull(_ index: Int) -> Bool {
            switch values[index].value {
            case .string, .null: true
            default: false
            }
        }
    }

    /// An object's members by key; the few a record has are searched in order.
    private struct Fields {
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
            "the Metrc catalog cache \(path) is of version \(found); this batchgate reads version \(MetrcCacheFile.version) only"
        case .cannotWrite(let reason):
            "cannot save the Metrc catalog cache \(path): \(reason); the file there is as it was"
        }
    }
}

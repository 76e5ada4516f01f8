/// A manifest and the problems found while reading it. A file that could not be read at all has
/// no packages and at least one issue without a package index.
public struct ManifestReading: Sendable, Equatable {
    public var manifest: Manifest
    public var issues: [ManifestIssue]

    public init(manifest: Manifest, issues: [ManifestIssue] = []) {
        self.manifest = manifest
        self.issues = issues
    }

    /// A file that could not be read at all.
    public static func unreadable(_ format: ManifestFormat, _ issue: ManifestIssue) -> ManifestReading {
        ManifestReading(manifest: Manifest(format: format), issues: [issue])
    }
}

/// Reads a JSON manifest: Metrc's create-package array, one package object, or an envelope with
/// `Packages`. Property names match case-insensitively; unknown properties are ignored.
///
/// It reads the parser's entries (``JSONDocument``) rather than a ``JSONValue`` tree: names are
/// compared as bytes and a `String` is made only for a text the manifest keeps, which took reading
/// a manifest from about 1.4 million instructions to a fraction of that (docs/benchmarks.md).
public enum JSONManifestReader {
    /// Reads UTF-8 text already checked by ``TextInput``; every problem becomes an issue, nothing throws.
    public static func read(_ text: ArraySlice<UInt8>) -> ManifestReading {
        let document: JSONDocument
        do {
            document = try JSONParser.document(text, maximumValues: ManifestLimits.maximumJSONValues,
                                               maximumMembers: ManifestLimits.maximumJSONMembers)
        } catch where error.exceedsLimit {
            return .unreadable(.json, ManifestIssue(
                message: "\(error.reason) (at line \(error.line), column \(error.column)); batchgate reads no more in one manifest, far more than \(ManifestLimits.grouped(ManifestLimits.maximumPackages)) packages need: split it into smaller manifests",
                line: error.line))
        } catch {
            return .unreadable(.json, ManifestIssue(message: "not valid JSON: \(error)", line: error.line))
        }
        let root = 0
        var manifest = Manifest(format: .json)
        var issues: [ManifestIssue] = []
        /// The entry of the list of packages; nil when the document is one package object.
        let packageList: Int?
        switch document.kind(root) {
        case .array:
            packageList = root
        case .object:
            let envelope = ObjectFields<EnvelopeField>(document, object: root, owner: "the top-level object",
                                                       line: document.line(root))
            if let packages = envelope.take(.packages) {
                guard document.kind(packages.value) == .array else {
                    return .unreadable(.json, ManifestIssue(
                        message: "Packages (line \(packages.line)) must be a list of package objects, found \(document.kind(packages.value).description)",
                        line: packages.line, field: "Packages"))
                }
                packageList = packages.value
                manifest.licenseNumber = envelopeText(envelope.take(.licenseNumber), "LicenseNumber", in: document, issues: &issues)
                manifest.facility = envelopeText(envelope.take(.facility), "Facility", in: document, issues: &issues)
                manifest.source = envelopeText(envelope.take(.source), "Source", in: document, issues: &issues)
                issues += envelope.duplicateIssues
            } else {
                packageList = nil
            }
        default:
            return .unreadable(.json, ManifestIssue(
                message: "line \(document.line(root)): a manifest must be a list of packages or an object, found \(document.kind(root).description)",
                line: document.line(root)))
        }
        // Counted before any package is built: building 8,000,000 of them to count them took 4 GB.
        let packageCount = packageList.map(document.count) ?? 1
        if packageCount > ManifestLimits.maximumPackages {
            return .unreadable(.json, ManifestLimits.tooManyPackages(packageCount))
        }
        let packageElements = packageList.map { Array(document.elements(of: $0)) } ?? [root]
        manifest.packages.reserveCapacity(packageCount)
        var ingredientCount = 0
        for (index, element) in packageElements.enumerated() {
            let line = document.line(element)
            let position = SourcePosition(line: line, packageIndex: index)
            if document.kind(element) == .object {
                var reader = PackageObjectReader(document: document, position: position,
                                                 ingredientsBefore: ingredientCount, issuesBefore: issues.count)
                let package = reader.readPackage(element)
                if let stop = reader.tooManyIngredients { return .unreadable(.json, stop) }
                ingredientCount += package.ingredients.count
                manifest.packages.append(package)
                issues += reader.issues
            } else {
                issues.append(ManifestIssue(
                    message: "Packages[\(index)] (line \(line)) must be a package object, found \(document.kind(element).description)",
                    line: line, packageIndex: index))
                manifest.packages.append(PackageRequest(position: position))
            }
            if issues.count > ManifestLimits.maximumIssues { return ManifestLimits.tooManyIssues(.json, issues) }
        }
        return ManifestReading(manifest: manifest, issues: issues)
    }

    /// An envelope field: text or null; anything else is an issue.
    private static func envelopeText(_ member: JSONProperty?, _ name: String, in document: JSONDocument,
                                     issues: inout [ManifestIssue]) -> String? {
        guard let member else { return nil }
        switch document.kind(member.value) {
        case .string: return document.string(member.value)
        case .null: return nil
        case let kind:
            issues.append(ManifestIssue(message: "\(name) (line \(member.line)) must be text, found \(kind.description)",
                                        line: member.line, field: name))
            return nil
        }
    }
}

/// The envelope's properties (a manifest that is one object with `Packages`).
enum EnvelopeField: Int, ObjectField {
    case packages, licenseNumber, facility, source
    static let names = FieldNames(Self.self)
}

/// A package object's properties that the reader takes (Metrc's others are ignored).
enum PackageField: Int, ObjectField {
    case tag, useSameItem, item, itemCategory, quantity, unitOfMeasure, isProductionBatch, productionBatchNumber
    case actualDate, location, note, processingStep, additives, ingredients
    static let names = FieldNames(Self.self)
}

/// An ingredient object's properties that the reader takes.
enum IngredientField: Int, ObjectField {
    case package, quantity, unitOfMeasure, item, itemCategory
    static let names = FieldNames(Self.self)
}

/// An additive written as an object.
enum AdditiveField: Int, ObjectField {
    case name, kind
    static let names = FieldNames(Self.self)
}

/// One property of an object: the entry of its value and the line the value starts on.
struct JSONProperty {
    let value: Int
    let line: Int
}

/// The properties a reader takes from one kind of object. Each case's name is its property's name,
/// as names match regardless of case (`tag` is `Tag`): renaming a case renames the property read,
/// which the reader's tests would show (they read every property under its Metrc name).
protocol ObjectField: RawRepresentable<Int>, CaseIterable {
    /// The names of all cases, for looking members up.
    static var names: FieldNames { get }
}

/// The property names of one kind of object in a small hash table by the name folded to lower
/// case, built once: each member of an object is looked up once, as it comes, where taking each
/// wanted name from a table of the object's members hashed both sides.
struct FieldNames: Sendable {
    private let names: [[UInt8]]
    /// Open addressing; -1 marks an empty slot.
    private let table: [(field: Int, hash: UInt64)]
    private let mask: Int

    init<Field: ObjectField>(_ type: Field.Type) {
        names = Field.allCases.map { Array(String(describing: $0).utf8) }
        precondition(names.count <= ObjectFields<Field>.maximumFields, "ObjectFields holds at most 16 fields")
        var capacity = 8
        while capacity < 2 * names.count { capacity <<= 1 }
        var table = [(field: Int, hash: UInt64)](repeating: (-1, 0), count: capacity)
        for field in Field.allCases {
            let hash = names[field.rawValue].withUnsafeBufferPointer(foldedHash)
            var slot = Int(truncatingIfNeeded: hash) & (capacity - 1)
            while table[slot].field >= 0 { slot = (slot + 1) & (capacity - 1) }
            table[slot] = (field.rawValue, hash)
        }
        self.table = table
        mask = capacity - 1
    }

    /// The field named `name` (any ASCII case), whose ``foldedHash(_:)`` is `hash`.
    func field(named name: UnsafeBufferPointer<UInt8>, hash: UInt64) -> Int? {
        var slot = Int(truncatingIfNeeded: hash) & mask
        while table[slot].field >= 0 {
            let entry = table[slot]
            if entry.hash == hash && names[entry.field].withUnsafeBufferPointer({ equalIgnoringASCIICase($0, name) }) {
                return entry.field
            }
            slot = (slot + 1) & mask
        }
        return nil
    }
}

/// The members of one JSON object that a reader takes, found case-insensitively as the object is
/// read; a name repeated (any name, taken or not) is reported.
struct ObjectFields<Field: ObjectField> {
    static var maximumFields: Int { 16 }
    /// The name entry of each field's member, by the field's raw value; -1 when absent.
    private var members = InlineArray<16, Int32>(repeating: -1)
    private(set) var duplicateIssues: [ManifestIssue] = []
    let line: Int
    /// The lines of the values, read from the document when a member is taken.
    private let lines: [JSONDocument.Entry]

    /// `owner` names the object in a repeated-name issue; it is built only for such an issue.
    /// `names` is `Field.names`, which a caller reading many objects takes once.
    init(_ document: JSONDocument, object: Int, owner: @autoclosure () -> String, line: Int,
         position: SourcePosition? = nil, names: FieldNames = Field.names) {
        self.line = line
        lines = document.entries
        var others = OtherNames(count: document.count(object))
        var repeated: [(name: Int, earlier: Int)] = []
        var members = InlineArray<16, Int32>(repeating: -1)
        document.forEachMember(of: object) { name, bytes in
            let hash = foldedHash(bytes)
            if let field = names.field(named: bytes, hash: hash) {
                if members[field] < 0 {
                    members[field] = Int32(truncatingIfNeeded: name)
                } else {
                    repeated.append((name, Int(members[field])))
                }
            } else if let earlier = others.insert(name, bytes: bytes, in: document) {
                repeated.append((name, earlier))
            }
        }
        self.members = members
        for (name, earlier) in repeated {
            let key = document.string(name)
            let message = "\(owner()) (line \(line)) has the property \"\(key)\" twice (lines \(document.line(earlier + 1)) and \(document.line(name + 1))); property names match regardless of case, so keep one"
            duplicateIssues.append(ManifestIssue(message: message, line: document.line(name + 1),
                                                 field: document.string(earlier),
                                                 packageIndex: position?.packageIndex))
        }
    }

    /// The member for `field`; its value is the entry after its name.
    func take(_ field: Field) -> JSONProperty? {
        let name = Int(members[field.rawValue])
        guard name >= 0 else { return nil }
        return JSONProperty(value: name + 1, line: Int(lines[name + 1].line))
    }
}

/// The names of an object's members that no field takes, kept only to find one repeated: in a
/// hash table by the whole name folded to lower case (FNV-1a; open addressing, -1 marks an empty
/// slot) for a small object (every real one), where a name is found in one or two probes. The
/// short hash that finds known fields is not used here: names alike in their first and last eight
/// bytes would all collide, each compared in full with every other. This hash is not seeded
/// either, so names chosen to collide would make each insertion probe every slot taken before it:
/// a larger (hostile or broken) object's names go into Swift's seeded dictionary instead.
private struct OtherNames {
    private let count: Int
    private var table: [(name: Int, hash: UInt64)] = []
    private var mask = 0
    private var large: [String: Int]?

    /// Objects with more members than this use ``large``.
    private static let tableLimit = 32

    init(count: Int) {
        self.count = count
    }

    /// Adds the name entry `name`, whose bytes are `bytes`; returns the entry of the same name met
    /// before, if any.
    mutating func insert(_ name: Int, bytes: UnsafeBufferPointer<UInt8>, in document: JSONDocument) -> Int? {
        if count > Self.tableLimit {
            let folded = String(decoding: bytes, as: UTF8.self).asciiLowercased
            if large == nil { large = [:] }
            if let earlier = large![folded] { return earlier }
            large![folded] = name
            return nil
        }
        if table.isEmpty {
            // Made at the first name no field takes: most objects have none, or a few.
            var capacity = 8
            while capacity < 2 * count { capacity <<= 1 }
            table = Array(repeating: (-1, 0), count: capacity)
            mask = capacity - 1
        }
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in bytes {
            let folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            hash = (hash ^ UInt64(folded)) &* 0x100_0000_01b3
        }
        var slot = Int(truncatingIfNeeded: hash) & mask
        while table[slot].name >= 0 {
            let other = table[slot].name
            if table[slot].hash == hash && document.withBytes(of: other, { equalIgnoringASCIICase($0, bytes) }) {
                return other
            }
            slot = (slot + 1) & mask
        }
        table[slot] = (name, hash)
        return nil
    }
}

/// A short hash of a name that is equal for names that ``equalIgnoringASCIICase(_:_:)`` finds
/// equal: its length and its first and last eight bytes, every byte with bit 5 set (which folds
/// ASCII letters to lower case, and merges some other pairs; those only collide, and are told apart
/// by comparing the names). For the look-up of known fields, whose names are ours: byte by byte
/// (FNV-1a), hashing took longer than the rest of that look-up.
private func foldedHash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
    let count = bytes.count
    guard let base = bytes.baseAddress, count > 0 else { return 0 }
    var head: UInt64 = 0, tail: UInt64 = 0
    if count >= 8 {
        head = UnsafeRawPointer(base).loadUnaligned(as: UInt64.self)
        tail = UnsafeRawPointer(base + count - 8).loadUnaligned(as: UInt64.self)
    } else {
        for index in 0..<count { head |= UInt64(base[index]) << (8 * UInt64(index)) }
    }
    let fold: UInt64 = 0x2020_2020_2020_2020
    var hash = (head | fold) &* 0x9E37_79B9_7F4A_7C15
    hash ^= ((tail | fold) &* 0xC2B2_AE3D_27D4_EB4F) >> 7
    hash ^= UInt64(count) &* 0x1656_67B1_9E37_79F9
    return hash ^ (hash >> 31)
}

/// Reads one package object (and its ingredients), collecting every field problem.
private struct PackageObjectReader {
    let document: JSONDocument
    let position: SourcePosition
    var issues: [ManifestIssue] = []
    /// Ingredients and issues of the packages read before this one, for the file's caps.
    let ingredientsBefore: Int
    let issuesBefore: Int
    /// Set when this package's ingredients take the file past ``ManifestLimits/maximumIngredients``.
    var tooManyIngredients: ManifestIssue?

    init(document: JSONDocument, position: SourcePosition, ingredientsBefore: Int = 0, issuesBefore: Int = 0) {
        self.document = document
        self.position = position
        self.ingredientsBefore = ingredientsBefore
        self.issuesBefore = issuesBefore
    }

    /// True once the file's issues pass ``ManifestLimits/maximumIssues``: the lists of one package
    /// stop there (a list of 100,000 empty ingredient objects makes 300,000 issues), and the caller
    /// stops the file after this package.
    var issuesFull: Bool { issuesBefore + issues.count > ManifestLimits.maximumIssues }

    mutating func readPackage(_ object: Int) -> PackageRequest {
        let fields = ObjectFields<PackageField>(document, object: object, owner: "Packages[\(position.packageIndex)]",
                                  line: position.line ?? 0, position: position)
        issues += fields.duplicateIssues
        var package = PackageRequest(position: position)

        if let member = fields.take(.tag) {
            package.tagLine = member.line
            if let raw = string(member, "Tag", at: position, required: true) {
                package.tag = tag(raw, "Tag", member, at: position)
            }
        } else {
            fail("Tag", "is missing: every package needs its new 24-character tag", line: position.line)
        }
        package.useSameItem = bool(fields.take(.useSameItem), "UseSameItem")
        let itemMember = fields.take(.item)
        package.item = itemMember.flatMap { string($0, "Item", at: position, required: !package.useSameItem) }
            .flatMap { $0.trimmingWhitespace().isEmpty ? nil : $0.trimmingWhitespace() }
        if itemMember == nil && !package.useSameItem {
            fail("Item", "is missing: name the new package's item (or set UseSameItem to true)", line: position.line)
        }
        package.itemCategory = optionalString(fields.take(.itemCategory), "ItemCategory")
        package.quantity = quantity(fields.take(.quantity), at: position)
        package.unitOfMeasure = unit(fields.take(.unitOfMeasure), at: position)
        package.isProductionBatch = optionalBool(fields.take(.isProductionBatch), "IsProductionBatch")
        package.productionBatchNumber = optionalString(fields.take(.productionBatchNumber), "ProductionBatchNumber")
        if let member = fields.take(.actualDate), let raw = optionalString(member, "ActualDate") {
            switch FieldSyntax.date(raw, allowUSForm: false) {
            case .success(let date): package.actualDate = date
            case .failure(let problem): fail("ActualDate", problem.text, line: member.line)
            }
        }
        package.location = lenientString(fields.take(.location))
        package.note = lenientString(fields.take(.note))
        package.processingStep = optionalString(fields.take(.processingStep), "ProcessingStep")
        package.additives = additives(fields.take(.additives))
        package.ingredients = ingredients(fields.take(.ingredients))
        return package
    }

    // MARK: Ingredients

    mutating func ingredients(_ member: JSONProperty?) -> [Ingredient] {
        guard let member else {
            fail("Ingredients", "is missing: a new package is made from at least one ingredient package",
                 line: position.line)
            return []
        }
        guard document.kind(member.value) == .array else {
            fail("Ingredients", "must be a list of ingredient objects, found \(document.kind(member.value).description)",
                 line: member.line)
            return []
        }
        let count = document.count(member.value)
        if count == 0 {
            fail("Ingredients", "is empty: a new package is made from at least one ingredient package", line: member.line)
        }
        if ingredientsBefore + count > ManifestLimits.maximumIngredients {
            let limit = ManifestLimits.grouped(ManifestLimits.maximumIngredients)
            tooManyIngredients = ManifestIssue(
                message: "Packages[\(position.packageIndex)].Ingredients (line \(member.line)) brings the file to \(ManifestLimits.grouped(ingredientsBefore + count)) ingredients; batchgate reads at most \(limit) in one manifest (10 a package at the \(ManifestLimits.grouped(ManifestLimits.maximumPackages))-package limit): split it into smaller manifests",
                line: member.line, field: "Ingredients")
            return []
        }
        var result: [Ingredient] = []
        result.reserveCapacity(count)
        let names = IngredientField.names
        for (index, element) in document.elements(of: member.value).enumerated() {
            if issuesFull { break }
            let line = document.line(element)
            let at = SourcePosition(line: line, packageIndex: position.packageIndex, ingredientIndex: index)
            var ingredient = Ingredient(position: at)
            guard document.kind(element) == .object else {
                issues.append(ManifestIssue(
                    message: "Packages[\(position.packageIndex)].Ingredients[\(index)] (line \(line)) must be an ingredient object {Package, Quantity, UnitOfMeasure}, found \(document.kind(element).description)",
                    line: line, field: "Ingredients", packageIndex: position.packageIndex))
                result.append(ingredient)
                continue
            }
            let fields = ObjectFields<IngredientField>(document, object: element,
                                      owner: "Packages[\(position.packageIndex)].Ingredients[\(index)]",
                                      line: line, position: position, names: names)
            issues += fields.duplicateIssues
            if let tagMember = fields.take(.package) {
                if let raw = string(tagMember, "Package", at: at, required: true) {
                    ingredient.package = tag(raw, "Package", tagMember, at: at)
                }
            } else {
                fail("Package", "is missing: name the ingredient package's tag", at: at)
            }
            ingredient.quantity = quantity(fields.take(.quantity), at: at)
            ingredient.unitOfMeasure = unit(fields.take(.unitOfMeasure), at: at)
            ingredient.item = optionalString(fields.take(.item), "Item", at: at)?.trimmingWhitespace()
            ingredient.itemCategory = optionalString(fields.take(.itemCategory), "ItemCategory", at: at)
            result.append(ingredient)
        }
        return result
    }

    // MARK: Additives

    /// The additives listed; nil when `Additives` is absent or null, which says nothing (the rules
    /// then read the note and the item name), while `[]` says nothing was added.
    mutating func additives(_ member: JSONProperty?) -> [Additive]? {
        guard let member else { return nil }
        switch document.kind(member.value) {
        case .null: return nil
        case .array:
            var result: [Additive] = []
            for (index, element) in document.elements(of: member.value).enumerated() {
                if issuesFull { break }
                let line = document.line(element)
                switch document.kind(element) {
                case .string:
                    let name = document.string(element)
                    if name.trimmingWhitespace().isEmpty {
                        fail("Additives", "entry \(index) is empty text", line: line)
                    } else {
                        result.append(Additive(name: name.trimmingWhitespace()))
                    }
                case .object:
                    let fields = ObjectFields<AdditiveField>(document, object: element, owner: "Additives[\(index)]", line: line,
                                              position: position)
                    issues += fields.duplicateIssues
                    let name = fields.take(.name).flatMap { string($0, "Additives", at: position, required: true) }?
                        .trimmingWhitespace()
                    let kindMember = fields.take(.kind)
                    var kind = Additive.Kind.additive
                    if let kindMember, document.kind(kindMember.value) == .string {
                        let word = document.string(kindMember.value)
                        if let parsed = FieldSyntax.additiveKind(word) {
                            kind = parsed
                        } else {
                            let allowed = Additive.Kind.allCases.map(\.rawValue).joined(separator: ", ")
                            fail("Additives", "entry \(index) has Kind \(FieldSyntax.quoted(word)); use one of \(allowed)",
                                 line: kindMember.line)
                            continue
                        }
                    } else if let kindMember, document.kind(kindMember.value) != .null {
                        fail("Additives", "entry \(index) Kind must be text, found \(document.kind(kindMember.value).description)",
                             line: kindMember.line)
                        continue
                    }
                    if let name, !name.isEmpty {
                        result.append(Additive(name: name, kind: kind))
                    } else {
                        fail("Additives", "entry \(index) needs a Name", line: line)
                    }
                case let kind:
                    fail("Additives", "entry \(index) must be text or an object {Name, Kind}, found \(kind.description)",
                         line: line)
                }
            }
            return result
        case let kind:
            fail("Additives", "must be a list of additives, found \(kind.description)", line: member.line)
            return []
        }
    }

    // MARK: Field helpers

    mutating func fail(_ field: String, _ problem: String, line: Int?) {
        var at = position
        at.line = line
        fail(field, problem, at: at)
    }

    mutating func fail(_ field: String, _ problem: String, at: SourcePosition) {
        issues.append(.field(field, problem, at: at, format: .json))
    }

    /// Required (or optional) text; null counts as missing.
    mutating func string(_ member: JSONProperty, _ field: String, at: SourcePosition, required: Bool) -> String? {
        var where_ = at
        where_.line = member.line
        switch document.kind(member.value) {
        case .string:
            let value = document.string(member.value)
            if required && value.trimmingWhitespace().isEmpty {
                fail(field, "is empty", at: where_)
                return nil
            }
            return value
        case .null:
            if required { fail(field, "is null: a value is required", at: where_) }
            return nil
        case let kind:
            fail(field, "must be text, found \(kind.description)", at: where_)
            return nil
        }
    }

    mutating func optionalString(_ member: JSONProperty?, _ field: String, at: SourcePosition? = nil) -> String? {
        guard let member else { return nil }
        let value = string(member, field, at: at ?? position, required: false)
        return value.flatMap { $0.trimmingWhitespace().isEmpty ? nil : $0 }
    }

    /// Metrc fields we only carry into the report: text is kept, anything else is ignored.
    func lenientString(_ member: JSONProperty?) -> String? {
        if let member, document.kind(member.value) == .string {
            let value = document.string(member.value)
            if !value.isEmpty { return value }
        }
        return nil
    }

    mutating func bool(_ member: JSONProperty?, _ field: String) -> Bool {
        optionalBool(member, field) ?? false
    }

    /// A boolean that may be left out: nil when absent or null (or not a boolean, with an issue).
    mutating func optionalBool(_ member: JSONProperty?, _ field: String) -> Bool? {
        guard let member else { return nil }
        switch document.kind(member.value) {
        case .bool: return document.bool(member.value)
        case .null: return nil
        case let kind:
            fail(field, "must be true or false, found \(kind.description)\(shown(member.value))", line: member.line)
            return nil
        }
    }

    mutating func tag(_ raw: String, _ field: String, _ member: JSONProperty, at: SourcePosition) -> String? {
        switch FieldSyntax.tag(raw) {
        case .success(let tag): return tag
        case .failure(let problem):
            var where_ = at
            where_.line = member.line
            fail(field, problem.text, at: where_)
            return nil
        }
    }

    mutating func quantity(_ member: JSONProperty?, at: SourcePosition) -> Double? {
        guard let member else {
            fail("Quantity", "is missing: a number greater than 0 is required", at: at)
            return nil
        }
        var where_ = at
        where_.line = member.line
        guard document.kind(member.value) == .number else {
            fail("Quantity", "must be a number greater than 0, found \(document.kind(member.value).description)\(shown(member.value))", at: where_)
            return nil
        }
        let value = document.number(member.value)
        if let problem = FieldSyntax.positiveQuantity(value) {
            fail("Quantity", problem.text, at: where_)
            return nil
        }
        return value
    }

    mutating func unit(_ member: JSONProperty?, at: SourcePosition) -> String? {
        guard let member else {
            fail("UnitOfMeasure", "is missing: name the unit (Grams, Ounces, Each, ...)", at: at)
            return nil
        }
        return string(member, "UnitOfMeasure", at: at, required: true)?.trimmingWhitespace()
    }

    /// The text of a wrong value, for the message, when it is text.
    func shown(_ value: Int) -> String {
        document.kind(value) == .string ? " \(FieldSyntax.quoted(document.string(value)))" : ""
    }
}

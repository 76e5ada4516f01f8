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
            let envelope = ObjectFields(document, object: root, owner: "the top-level object", line: document.line(root))
            if let packages = envelope.take("Packages") {
                guard document.kind(packages.value) == .array else {
                    return .unreadable(.json, ManifestIssue(
                        message: "Packages (line \(packages.line)) must be a list of package objects, found \(document.kind(packages.value).description)",
                        line: packages.line, field: "Packages"))
                }
                packageList = packages.value
                manifest.licenseNumber = envelope.text("LicenseNumber", issues: &issues)
                manifest.facility = envelope.text("Facility", issues: &issues)
                manifest.source = envelope.text("Source", issues: &issues)
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
}

/// One property of an object: the entry of its value and the line the value starts on.
struct JSONProperty {
    let value: Int
    let line: Int
}

/// The members of one JSON object, looked up case-insensitively; repeated names are reported.
struct ObjectFields {
    private let document: JSONDocument
    /// The name entry of each member, a repeated name kept once, in a hash table by the name folded
    /// to lower case (open addressing; -1 marks an empty slot): a name is found in one or two
    /// probes, where searching a list of 26 compared half of it. Small objects only (every real
    /// package): its hash is not seeded, so names chosen to collide would make each insertion probe
    /// every slot taken before it.
    private var table: [(name: Int, hash: UInt64)]
    private let mask: Int
    /// A larger (hostile or broken) object's names, folded to lower case, in Swift's seeded
    /// dictionary instead of the table.
    private var large: [String: Int]?
    private(set) var duplicateIssues: [ManifestIssue] = []
    let line: Int

    /// Objects with more members than this go through ``large``.
    private static let tableLimit = 32

    /// `owner` names the object in a repeated-name issue; it is built only for such an issue.
    init(_ document: JSONDocument, object: Int, owner: @autoclosure () -> String, line: Int,
         position: SourcePosition? = nil) {
        self.document = document
        self.line = line
        let count = document.count(object)
        let usesTable = count <= Self.tableLimit
        var capacity = 8
        while usesTable && capacity < 2 * count { capacity <<= 1 }
        table = Array(repeating: (-1, 0), count: usesTable ? capacity : 0)
        mask = capacity - 1
        if !usesTable { large = [:] }
        for name in document.members(of: object) {
            var slot = 0
            var hash: UInt64 = 0
            let earlier: Int?
            if usesTable {
                hash = document.withBytes(of: name, foldedHash)
                slot = Int(truncatingIfNeeded: hash) & mask
                var sameNameEarlier: Int?
                while table[slot].name >= 0 {
                    if table[slot].hash == hash && sameName(table[slot].name, name) {
                        sameNameEarlier = table[slot].name
                        break
                    }
                    slot = (slot + 1) & mask
                }
                earlier = sameNameEarlier
            } else {
                let folded = document.string(name).asciiLowercased
                earlier = large![folded]
                if earlier == nil { large![folded] = name }
            }
            if let earlier {
                let key = document.string(name)
                let message = "\(owner()) (line \(line)) has the property \"\(key)\" twice (lines \(document.line(earlier + 1)) and \(document.line(name + 1))); property names match regardless of case, so keep one"
                duplicateIssues.append(ManifestIssue(message: message, line: document.line(name + 1),
                                                     field: document.string(earlier),
                                                     packageIndex: position?.packageIndex))
            } else if usesTable {
                // No equal name was in the table, so the probe stopped at an empty slot.
                table[slot] = (name, hash)
            }
        }
    }

    private func sameName(_ a: Int, _ b: Int) -> Bool {
        document.withBytes(of: a) { x in document.withBytes(of: b) { y in equalIgnoringASCIICase(x, y) } }
    }

    /// The member named `name` (any case). The readers take each name once.
    func take(_ name: String) -> JSONProperty? {
        if let large {
            return large[name.asciiLowercased].map { JSONProperty(value: $0 + 1, line: document.line($0 + 1)) }
        }
        var name = name
        return name.withUTF8 { wanted in
            let hash = foldedHash(wanted)
            var slot = Int(truncatingIfNeeded: hash) & mask
            while table[slot].name >= 0 {
                let entry = table[slot]
                if entry.hash == hash && document.withBytes(of: entry.name, { equalIgnoringASCIICase($0, wanted) }) {
                    return JSONProperty(value: entry.name + 1, line: document.line(entry.name + 1))
                }
                slot = (slot + 1) & mask
            }
            return nil
        }
    }

    /// Text or null; anything else is an issue. Envelope fields only.
    func text(_ name: String, issues: inout [ManifestIssue]) -> String? {
        guard let member = take(name) else { return nil }
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

/// A hash of a name with ASCII letters folded to lower case (FNV-1a): equal for names that
/// ``equalIgnoringASCIICase(_:_:)`` finds equal.
private func foldedHash(_ bytes: UnsafeBufferPointer<UInt8>) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes {
        let folded = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
        hash = (hash ^ UInt64(folded)) &* 0x100_0000_01b3
    }
    return hash
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
        let fields = ObjectFields(document, object: object, owner: "Packages[\(position.packageIndex)]",
                                  line: position.line ?? 0, position: position)
        issues += fields.duplicateIssues
        var package = PackageRequest(position: position)

        if let member = fields.take("Tag") {
            package.tagLine = member.line
            if let raw = string(member, "Tag", at: position, required: true) {
                package.tag = tag(raw, "Tag", member, at: position)
            }
        } else {
            fail("Tag", "is missing: every package needs its new 24-character tag", line: position.line)
        }
        package.useSameItem = bool(fields.take("UseSameItem"), "UseSameItem")
        let itemMember = fields.take("Item")
        package.item = itemMember.flatMap { string($0, "Item", at: position, required: !package.useSameItem) }
            .flatMap { $0.trimmingWhitespace().isEmpty ? nil : $0.trimmingWhitespace() }
        if itemMember == nil && !package.useSameItem {
            fail("Item", "is missing: name the new package's item (or set UseSameItem to true)", line: position.line)
        }
        package.itemCategory = optionalString(fields.take("ItemCategory"), "ItemCategory")
        package.quantity = quantity(fields.take("Quantity"), at: position)
        package.unitOfMeasure = unit(fields.take("UnitOfMeasure"), at: position)
        package.isProductionBatch = optionalBool(fields.take("IsProductionBatch"), "IsProductionBatch")
        package.productionBatchNumber = optionalString(fields.take("ProductionBatchNumber"), "ProductionBatchNumber")
        if let member = fields.take("ActualDate"), let raw = optionalString(member, "ActualDate") {
            switch FieldSyntax.date(raw, allowUSForm: false) {
            case .success(let date): package.actualDate = date
            case .failure(let problem): fail("ActualDate", problem.text, line: member.line)
            }
        }
        package.location = lenientString(fields.take("Location"))
        package.note = lenientString(fields.take("Note"))
        package.processingStep = optionalString(fields.take("ProcessingStep"), "ProcessingStep")
        package.additives = additives(fields.take("Additives"))
        package.ingredients = ingredients(fields.take("Ingredients"))
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
            let fields = ObjectFields(document, object: element,
                                      owner: "Packages[\(position.packageIndex)].Ingredients[\(index)]",
                                      line: line, position: position)
            issues += fields.duplicateIssues
            if let tagMember = fields.take("Package") {
                if let raw = string(tagMember, "Package", at: at, required: true) {
                    ingredient.package = tag(raw, "Package", tagMember, at: at)
                }
            } else {
                fail("Package", "is missing: name the ingredient package's tag", at: at)
            }
            ingredient.quantity = quantity(fields.take("Quantity"), at: at)
            ingredient.unitOfMeasure = unit(fields.take("UnitOfMeasure"), at: at)
            ingredient.item = optionalString(fields.take("Item"), "Item", at: at)?.trimmingWhitespace()
            ingredient.itemCategory = optionalString(fields.take("ItemCategory"), "ItemCategory", at: at)
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
                    let fields = ObjectFields(document, object: element, owner: "Additives[\(index)]", line: line,
                                              position: position)
                    issues += fields.duplicateIssues
                    let name = fields.take("Name").flatMap { string($0, "Additives", at: position, required: true) }?
                        .trimmingWhitespace()
                    let kindMember = fields.take("Kind")
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

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
public enum JSONManifestReader {
    /// Reads UTF-8 text already checked by ``TextInput``; every problem becomes an issue, nothing throws.
    public static func read(_ text: ArraySlice<UInt8>) -> ManifestReading {
        let root: JSONElement
        do {
            root = try JSONParser.parse(text, maximumValues: ManifestLimits.maximumJSONValues,
                                        maximumMembers: ManifestLimits.maximumJSONMembers)
        } catch where error.exceedsLimit {
            return .unreadable(.json, ManifestIssue(
                message: "\(error.reason) (at line \(error.line), column \(error.column)); batchgate reads no more in one manifest, far more than \(ManifestLimits.grouped(ManifestLimits.maximumPackages)) packages need: split it into smaller manifests",
                line: error.line))
        } catch {
            return .unreadable(.json, ManifestIssue(message: "not valid JSON: \(error)", line: error.line))
        }
        var manifest = Manifest(format: .json)
        var issues: [ManifestIssue] = []
        let packageElements: [JSONElement]
        switch root.value {
        case .array(let elements):
            packageElements = elements
        case .object(let members):
            var envelope = ObjectFields(members, owner: "the top-level object", line: root.line)
            if let packages = envelope.take("Packages") {
                guard case .array(let elements) = packages.value else {
                    return .unreadable(.json, ManifestIssue(
                        message: "Packages (line \(packages.line)) must be a list of package objects, found \(packages.value.kindDescription)",
                        line: packages.line, field: "Packages"))
                }
                packageElements = elements
                manifest.licenseNumber = envelope.text("LicenseNumber", issues: &issues)
                manifest.facility = envelope.text("Facility", issues: &issues)
                manifest.source = envelope.text("Source", issues: &issues)
                issues += envelope.duplicateIssues
            } else {
                packageElements = [root]
            }
        default:
            return .unreadable(.json, ManifestIssue(
                message: "line \(root.line): a manifest must be a list of packages or an object, found \(root.value.kindDescription)",
                line: root.line))
        }
        // Counted before any package is built: building 8,000,000 of them to count them took 4 GB.
        if packageElements.count > ManifestLimits.maximumPackages {
            return .unreadable(.json, ManifestLimits.tooManyPackages(packageElements.count))
        }
        var ingredientCount = 0
        for (index, element) in packageElements.enumerated() {
            let position = SourcePosition(line: element.line, packageIndex: index)
            if case .object(let members) = element.value {
                var reader = PackageObjectReader(position: position, ingredientsBefore: ingredientCount,
                                                 issuesBefore: issues.count)
                let package = reader.readPackage(members)
                if let stop = reader.tooManyIngredients { return .unreadable(.json, stop) }
                ingredientCount += package.ingredients.count
                manifest.packages.append(package)
                issues += reader.issues
            } else {
                issues.append(ManifestIssue(
                    message: "Packages[\(index)] (line \(element.line)) must be a package object, found \(element.value.kindDescription)",
                    line: element.line, packageIndex: index))
                manifest.packages.append(PackageRequest(position: position))
            }
            if issues.count > ManifestLimits.maximumIssues { return ManifestLimits.tooManyIssues(.json, issues) }
        }
        return ManifestReading(manifest: manifest, issues: issues)
    }
}

/// The members of one JSON object, looked up case-insensitively; repeated names are reported.
struct ObjectFields {
    private let list: [JSONMember]
    /// Indices into `list` of the members not yet taken (a repeated name is kept once).
    private var remaining: [Int] = []
    /// A cheap fingerprint of each member's name (length and folded first and last bytes), so most
    /// comparisons end without looking at the names.
    private var signatures: [Int] = []
    private(set) var duplicateIssues: [ManifestIssue] = []
    let line: Int

    init(_ list: [JSONMember], owner: String, line: Int, position: SourcePosition? = nil) {
        self.line = line
        self.list = list
        remaining.reserveCapacity(list.count)
        signatures = list.map { Self.signature($0.key) }
        // Small objects (every real package) are searched linearly; a hostile object with
        // thousands of properties goes through a dictionary so the check stays linear.
        var seen: [String: Int]? = list.count > 32 ? [:] : nil
        for (index, member) in list.enumerated() {
            let earlier: JSONMember?
            if seen != nil {
                let folded = member.key.asciiLowercased
                earlier = seen![folded].map { list[$0] }
                if earlier == nil { seen![folded] = index }
            } else {
                earlier = remaining.first { signatures[$0] == signatures[index] && list[$0].key.equalsIgnoringASCIICase(member.key) }
                    .map { list[$0] }
            }
            if let earlier {
                let message = "\(owner) (line \(line)) has the property \"\(member.key)\" twice (lines \(earlier.line) and \(member.line)); property names match regardless of case, so keep one"
                duplicateIssues.append(ManifestIssue(message: message, line: member.line, field: earlier.key,
                                                     packageIndex: position?.packageIndex))
            } else {
                remaining.append(index)
            }
        }
    }

    /// The member named `name` (any case), removed so it is read once.
    mutating func take(_ name: String) -> JSONMember? {
        let signature = Self.signature(name)
        guard let position = remaining.firstIndex(where: {
            signatures[$0] == signature && list[$0].key.equalsIgnoringASCIICase(name)
        }) else { return nil }
        return list[remaining.remove(at: position)]
    }

    private static func signature(_ name: String) -> Int {
        let bytes = name.utf8
        guard let first = bytes.first else { return 0 }
        let last = bytes[bytes.index(before: bytes.endIndex)]
        return bytes.count << 16 | Int(first | 0x20) << 8 | Int(last | 0x20)
    }

    /// Text or null; anything else is an issue. Envelope fields only.
    mutating func text(_ name: String, issues: inout [ManifestIssue]) -> String? {
        guard let member = take(name) else { return nil }
        switch member.value {
        case .string(let value): return value
        case .null: return nil
        default:
            issues.append(ManifestIssue(message: "\(name) (line \(member.line)) must be text, found \(member.value.kindDescription)",
                                        line: member.line, field: name))
            return nil
        }
    }
}

/// Reads one package object (and its ingredients), collecting every field problem.
private struct PackageObjectReader {
    let position: SourcePosition
    var issues: [ManifestIssue] = []
    /// Ingredients and issues of the packages read before this one, for the file's caps.
    let ingredientsBefore: Int
    let issuesBefore: Int
    /// Set when this package's ingredients take the file past ``ManifestLimits/maximumIngredients``.
    var tooManyIngredients: ManifestIssue?

    init(position: SourcePosition, ingredientsBefore: Int = 0, issuesBefore: Int = 0) {
        self.position = position
        self.ingredientsBefore = ingredientsBefore
        self.issuesBefore = issuesBefore
    }

    /// True once the file's issues pass ``ManifestLimits/maximumIssues``: the lists of one package
    /// stop there (a list of 100,000 empty ingredient objects makes 300,000 issues), and the caller
    /// stops the file after this package.
    var issuesFull: Bool { issuesBefore + issues.count > ManifestLimits.maximumIssues }

    mutating func readPackage(_ members: [JSONMember]) -> PackageRequest {
        var fields = ObjectFields(members, owner: "Packages[\(position.packageIndex)]", line: position.line ?? 0,
                                  position: position)
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

    mutating func ingredients(_ member: JSONMember?) -> [Ingredient] {
        guard let member else {
            fail("Ingredients", "is missing: a new package is made from at least one ingredient package",
                 line: position.line)
            return []
        }
        guard case .array(let elements) = member.value else {
            fail("Ingredients", "must be a list of ingredient objects, found \(member.value.kindDescription)",
                 line: member.line)
            return []
        }
        if elements.isEmpty {
            fail("Ingredients", "is empty: a new package is made from at least one ingredient package", line: member.line)
        }
        if ingredientsBefore + elements.count > ManifestLimits.maximumIngredients {
            let limit = ManifestLimits.grouped(ManifestLimits.maximumIngredients)
            tooManyIngredients = ManifestIssue(
                message: "Packages[\(position.packageIndex)].Ingredients (line \(member.line)) brings the file to \(ManifestLimits.grouped(ingredientsBefore + elements.count)) ingredients; batchgate reads at most \(limit) in one manifest (10 a package at the \(ManifestLimits.grouped(ManifestLimits.maximumPackages))-package limit): split it into smaller manifests",
                line: member.line, field: "Ingredients")
            return []
        }
        var result: [Ingredient] = []
        for (index, element) in elements.enumerated() {
            if issuesFull { break }
            let at = SourcePosition(line: element.line, packageIndex: position.packageIndex, ingredientIndex: index)
            var ingredient = Ingredient(position: at)
            guard case .object(let members) = element.value else {
                issues.append(ManifestIssue(
                    message: "Packages[\(position.packageIndex)].Ingredients[\(index)] (line \(element.line)) must be an ingredient object {Package, Quantity, UnitOfMeasure}, found \(element.value.kindDescription)",
                    line: element.line, field: "Ingredients", packageIndex: position.packageIndex))
                result.append(ingredient)
                continue
            }
            var fields = ObjectFields(members, owner: "Packages[\(position.packageIndex)].Ingredients[\(index)]",
                                      line: element.line, position: position)
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
    mutating func additives(_ member: JSONMember?) -> [Additive]? {
        guard let member else { return nil }
        switch member.value {
        case .null: return nil
        case .array(let elements):
            var result: [Additive] = []
            for (index, element) in elements.enumerated() {
                if issuesFull { break }
                switch element.value {
                case .string(let name):
                    if name.trimmingWhitespace().isEmpty {
                        fail("Additives", "entry \(index) is empty text", line: element.line)
                    } else {
                        result.append(Additive(name: name.trimmingWhitespace()))
                    }
                case .object(let members):
                    var fields = ObjectFields(members, owner: "Additives[\(index)]", line: element.line, position: position)
                    issues += fields.duplicateIssues
                    let name = fields.take("Name").flatMap { string($0, "Additives", at: position, required: true) }?
                        .trimmingWhitespace()
                    let kindMember = fields.take("Kind")
                    var kind = Additive.Kind.additive
                    if let kindMember, case .string(let word) = kindMember.value {
                        if let parsed = FieldSyntax.additiveKind(word) {
                            kind = parsed
                        } else {
                            let allowed = Additive.Kind.allCases.map(\.rawValue).joined(separator: ", ")
                            fail("Additives", "entry \(index) has Kind \(FieldSyntax.quoted(word)); use one of \(allowed)",
                                 line: kindMember.line)
                            continue
                        }
                    } else if let kindMember, kindMember.value != .null {
                        fail("Additives", "entry \(index) Kind must be text, found \(kindMember.value.kindDescription)",
                             line: kindMember.line)
                        continue
                    }
                    if let name, !name.isEmpty {
                        result.append(Additive(name: name, kind: kind))
                    } else {
                        fail("Additives", "entry \(index) needs a Name", line: element.line)
                    }
                default:
                    fail("Additives", "entry \(index) must be text or an object {Name, Kind}, found \(element.value.kindDescription)",
                         line: element.line)
                }
            }
            return result
        default:
            fail("Additives", "must be a list of additives, found \(member.value.kindDescription)", line: member.line)
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
    mutating func string(_ member: JSONMember, _ field: String, at: SourcePosition, required: Bool) -> String? {
        var where_ = at
        where_.line = member.line
        switch member.value {
        case .string(let value):
            if required && value.trimmingWhitespace().isEmpty {
                fail(field, "is empty", at: where_)
                return nil
            }
            return value
        case .null:
            if required { fail(field, "is null: a value is required", at: where_) }
            return nil
        default:
            fail(field, "must be text, found \(member.value.kindDescription)", at: where_)
            return nil
        }
    }

    mutating func optionalString(_ member: JSONMember?, _ field: String, at: SourcePosition? = nil) -> String? {
        guard let member else { return nil }
        let value = string(member, field, at: at ?? position, required: false)
        return value.flatMap { $0.trimmingWhitespace().isEmpty ? nil : $0 }
    }

    /// Metrc fields we only carry into the report: text is kept, anything else is ignored.
    func lenientString(_ member: JSONMember?) -> String? {
        if let member, case .string(let value) = member.value, !value.isEmpty { return value }
        return nil
    }

    mutating func bool(_ member: JSONMember?, _ field: String) -> Bool {
        optionalBool(member, field) ?? false
    }

    /// A boolean that may be left out: nil when absent or null (or not a boolean, with an issue).
    mutating func optionalBool(_ member: JSONMember?, _ field: String) -> Bool? {
        guard let member else { return nil }
        switch member.value {
        case .bool(let value): return value
        case .null: return nil
        default:
            fail(field, "must be true or false, found \(member.value.kindDescription)\(shown(member.value))", line: member.line)
            return nil
        }
    }

    mutating func tag(_ raw: String, _ field: String, _ member: JSONMember, at: SourcePosition) -> String? {
        switch FieldSyntax.tag(raw) {
        case .success(let tag): return tag
        case .failure(let problem):
            var where_ = at
            where_.line = member.line
            fail(field, problem.text, at: where_)
            return nil
        }
    }

    mutating func quantity(_ member: JSONMember?, at: SourcePosition) -> Double? {
        guard let member else {
            fail("Quantity", "is missing: a number greater than 0 is required", at: at)
            return nil
        }
        var where_ = at
        where_.line = member.line
        guard case .number(let value) = member.value else {
            fail("Quantity", "must be a number greater than 0, found \(member.value.kindDescription)\(shown(member.value))", at: where_)
            return nil
        }
        if let problem = FieldSyntax.positiveQuantity(value) {
            fail("Quantity", problem.text, at: where_)
            return nil
        }
        return value
    }

    mutating func unit(_ member: JSONMember?, at: SourcePosition) -> String? {
        guard let member else {
            fail("UnitOfMeasure", "is missing: name the unit (Grams, Ounces, Each, ...)", at: at)
            return nil
        }
        return string(member, "UnitOfMeasure", at: at, required: true)?.trimmingWhitespace()
    }

    func shown(_ value: JSONValue) -> String {
        if case .string(let text) = value { return " \(FieldSyntax.quoted(text))" }
        return ""
    }
}

/// A problem that stops a manifest, or one package of it, from being evaluated: a field error, a
/// syntax error, an unknown category. The message is a whole sentence that names the place.
public struct ManifestIssue: Error, Sendable, Equatable, CustomStringConvertible {
    /// The whole message, naming the package, ingredient, field and line where they are known.
    public var message: String
    /// 1-based line in the file, where known.
    public var line: Int?
    /// The field's name as docs/manifests.md §6 writes it (`Quantity`, `Tag`, ...), where one field
    /// is to blame.
    public var field: String?
    /// The 0-based package index the issue belongs to; `nil` for the file as a whole.
    public var packageIndex: Int?
    /// The pre-flight check whose error this is, if one is: the report shows that check's finding,
    /// so a reader of the errors can tell it from a problem of the file itself.
    public var check: CheckID?

    public init(message: String, line: Int? = nil, field: String? = nil, packageIndex: Int? = nil) {
        self.message = message
        self.line = line
        self.field = field
        self.packageIndex = packageIndex
    }

    /// An issue with one field, its message prefixed with the place: for JSON
    /// `Packages[1].Ingredients[0].Quantity (line 14): …`, for CSV
    /// `line 14 (package …), IngredientQuantity: …` (an ingredient's field is named by its CSV column).
    public static func field(
        _ field: String, _ problem: String, at position: SourcePosition, format: ManifestFormat, tag: String? = nil
    ) -> ManifestIssue {
        var field = field
        if format == .csv, position.ingredientIndex != nil, !field.hasPrefix("Ingredient") { field = "Ingredient" + field }
        let place: String
        switch format {
        case .json:
            var path = "Packages[\(position.packageIndex)]"
            if let ingredient = position.ingredientIndex { path += ".Ingredients[\(ingredient)]" }
            path += "." + field
            place = position.line.map { "\(path) (line \($0))" } ?? path
        case .csv:
            let lineText = position.line.map { "line \($0)" } ?? "package \(position.packageIndex + 1)"
            place = tag.map { "\(lineText) (package \($0)), \(field)" } ?? "\(lineText), \(field)"
        }
        return ManifestIssue(message: "\(place): \(problem)", line: position.line, field: field,
                             packageIndex: position.packageIndex)
    }

    public var description: String { message }
}

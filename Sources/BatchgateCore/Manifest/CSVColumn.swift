/// The columns a CSV manifest may have, with the header names each accepts (docs/manifests.md §5):
/// batchgate's own, Metrc's package grid export and the Track & Trace Tools create-package template.
/// The raw value is the column's position in `allCases`, so per-column state can live in arrays.
enum CSVColumn: Int, CaseIterable, Sendable {
    case tag, item, itemCategory, quantity, unitOfMeasure, isProductionBatch, productionBatchNumber, actualDate
    case location, note, useSameItem, ingredientPackage, ingredientItem, ingredientItemCategory
    case ingredientQuantity, ingredientUnitOfMeasure, additives, processingStep

    /// batchgate's own name of the column (`Tag`, `IngredientPackage`, ...; docs/manifests.md §5).
    var name: String {
        switch self {
        case .tag: "Tag"
        case .item: "Item"
        case .itemCategory: "ItemCategory"
        case .quantity: "Quantity"
        case .unitOfMeasure: "UnitOfMeasure"
        case .isProductionBatch: "IsProductionBatch"
        case .productionBatchNumber: "ProductionBatchNumber"
        case .actualDate: "ActualDate"
        case .location: "Location"
        case .note: "Note"
        case .useSameItem: "UseSameItem"
        case .ingredientPackage: "IngredientPackage"
        case .ingredientItem: "IngredientItem"
        case .ingredientItemCategory: "IngredientItemCategory"
        case .ingredientQuantity: "IngredientQuantity"
        case .ingredientUnitOfMeasure: "IngredientUnitOfMeasure"
        case .additives: "Additives"
        case .processingStep: "ProcessingStep"
        }
    }

    /// The package-level columns, in order.
    static let packageLevel = allCases.filter(\.isPackageLevel)

    /// Other header names for the column, as people write them.
    var aliases: [String] {
        switch self {
        case .tag: ["Package Tag", "New Package Tag", "Label"]
        case .item: ["Item Name"]
        case .itemCategory: ["Category", "Item Category"]
        case .quantity: ["Qty", "New Package Quantity"]
        case .unitOfMeasure: ["Unit of Measure", "UoM", "Unit", "New Package Unit"]
        case .isProductionBatch: ["Production Batch", "Is Production Batch"]
        case .productionBatchNumber: ["Production Batch Number", "Production Batch #", "Batch Number", "P.B. No."]
        case .actualDate: ["Package Date", "Packaged Date", "Date"]
        case .location: ["Location Name"]
        case .note: ["Notes"]
        case .useSameItem: ["Use Same Item"]
        case .ingredientPackage: ["Source Package", "Source Package Tag", "Source Tag"]
        case .ingredientItem: ["Source Item"]
        case .ingredientItemCategory: ["Source Category", "Source Item Category"]
        case .ingredientQuantity: ["Source Quantity", "Source Package Quantity", "Source Package Quantity Used"]
        case .ingredientUnitOfMeasure:
            ["Source Unit of Measure", "Source UoM", "Source Unit", "Source Package Unit", "Source Package Quantity Unit of Measure"]
        case .additives: []
        case .processingStep: ["Process"]
        }
    }

    /// Columns whose cells belong to the package, so every row of one package must agree on them.
    var isPackageLevel: Bool {
        switch self {
        case .ingredientPackage, .ingredientItem, .ingredientItemCategory, .ingredientQuantity,
             .ingredientUnitOfMeasure, .tag:
            false
        default:
            true
        }
    }

    /// Columns a CSV manifest cannot do without.
    static let required: [CSVColumn] = [.tag, .quantity, .unitOfMeasure, .ingredientPackage,
                                        .ingredientQuantity, .ingredientUnitOfMeasure]

    /// The column a header name means, if any.
    static func named(_ header: String) -> CSVColumn? {
        lookup[normalize(header)]
    }

    /// Lower-case letters and digits only, with `#` read as `Number`: `Production Batch #` becomes
    /// `productionbatchnumber`, `P.B. No.` becomes `pbno`.
    static func normalize(_ header: String) -> String {
        if header.utf8.allSatisfy({ $0 < 0x80 }) {
            var bytes: [UInt8] = []
            bytes.reserveCapacity(header.utf8.count)
            for byte in header.utf8 {
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"): bytes.append(byte | 0x20)
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): bytes.append(byte)
                case UInt8(ascii: "#"): bytes.append(contentsOf: "number".utf8)
                default: break
                }
            }
            return String(decoding: bytes, as: UTF8.self)
        }
        var result = ""
        for scalar in header.unicodeScalars {
            if scalar == "#" {
                result += "number"
            } else if scalar.properties.isAlphabetic || ("0"..."9").contains(scalar) {
                result += String(scalar).lowercased()
            }
        }
        return result
    }

    private static let lookup: [String: CSVColumn] = {
        var table: [String: CSVColumn] = [:]
        for column in CSVColumn.allCases {
            table[normalize(column.name)] = column
            for alias in column.aliases { table[normalize(alias)] = column }
        }
        return table
    }()

    /// "Tag (also accepted: Package Tag, New Package Tag, Label)".
    var describedWithAliases: String {
        aliases.isEmpty ? name : "\(name) (also accepted: \(aliases.joined(separator: ", ")))"
    }
}

import Testing
@testable import BatchgateCore

/// Tags for tests: 24 characters, the last digits varying.
func tag(_ number: Int) -> String {
    let digits = String(number)
    return "1A4FF01000000220" + String(repeating: "0", count: 8 - digits.count) + digits
}

func readJSON(_ text: String) -> ManifestReading {
    JSONManifestReader.read(Array(text.utf8)[...])
}

func readCSV(_ text: String) -> ManifestReading {
    CSVManifestReader.read(Array(text.utf8)[...])
}

func check(_ text: String, name: String = "m.json", catalog: Catalog = Catalog(),
           settings: RuleSettings = RuleSettings()) -> ManifestReport {
    ManifestChecker(catalog: catalog, settings: settings).check(fileName: name, bytes: Array(text.utf8))
}

/// One JSON package object with an ingredient, for tests that vary a field or two.
func packageJSON(tag: String = tag(1), item: String? = "Live Resin", category: String? = "Concentrate",
                 ingredients: [(tag: String, item: String?, category: String?)] = [(tag(101), "Blue Dream Buds", "Buds")],
                 extra: String = "") -> String {
    func quoted(_ text: String?) -> String { text.map { "\"\($0)\"" } ?? "null" }
    let parts = ingredients.map {
        "{\"Package\": \"\($0.tag)\", \"Quantity\": 10, \"UnitOfMeasure\": \"Grams\", \"Item\": \(quoted($0.item)), \"ItemCategory\": \(quoted($0.category))}"
    }
    return """
        {"Tag": "\(tag)", "Item": \(quoted(item)), "ItemCategory": \(quoted(category)), "Quantity": 5, \
        "UnitOfMeasure": "Grams"\(extra.isEmpty ? "" : ", " + extra), "Ingredients": [\(parts.joined(separator: ", "))]}
        """
}

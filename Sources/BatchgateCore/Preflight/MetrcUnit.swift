/// Metrc's units of measure, named as its JSON writes them (`GET /unitsofmeasure/v2/active`), with
/// the factor to their quantity type's base unit. Metrc converts a quantity only within its type:
/// grams to ounces, never grams to each.
enum MetrcUnit {
    /// One unit: its quantity type and how many base units (grams, milliliters, each) it holds.
    struct Unit: Sendable, Equatable {
        var name: String
        var quantityType: QuantityType
        var toBase: Double

        /// `quantity` of this unit in `target`, of the same quantity type. The ratio is taken
        /// first: a quantity near Double's largest times a factor would overflow.
        func convert(_ quantity: Double, to target: Unit) -> Double {
            name == target.name ? quantity : quantity * (toBase / target.toBase)
        }
    }

    /// Every unit batchgate converts. The imperial factors are the exact legal definitions
    /// (avoirdupois ounce and pound, US fluid ounce); Metrc does not publish its own.
    static let all: [Unit] = [
        Unit(name: "Milligrams", quantityType: .weightBased, toBase: 0.001),
        Unit(name: "Grams", quantityType: .weightBased, toBase: 1),
        Unit(name: "Kilograms", quantityType: .weightBased, toBase: 1000),
        Unit(name: "Ounces", quantityType: .weightBased, toBase: 28.349523125),
        Unit(name: "Pounds", quantityType: .weightBased, toBase: 453.59237),
        Unit(name: "Milliliters", quantityType: .volumeBased, toBase: 1),
        Unit(name: "Liters", quantityType: .volumeBased, toBase: 1000),
        Unit(name: "Fluid Ounces", quantityType: .volumeBased, toBase: 29.5735295625),
        Unit(name: "Each", quantityType: .countBased, toBase: 1),
    ]

    /// How far a converted total may pass what a package holds and still fit: 1 part in 10,000,
    /// so that 453.6 Grams taken from 16 Ounces (453.59 g) is not called over-use over a rounding.
    static let tolerance = 1e-4

    private static let byKey: [String: Unit] = Dictionary(
        all.map { ($0.name.comparisonKey, $0) }, uniquingKeysWith: { first, _ in first })

    /// The unit with this name (trimmed, any case), or nil for a name Metrc does not use.
    static func named(_ name: String) -> Unit? {
        // Most files write Metrc's own spelling: comparing with the nine names costs less than
        // building the key and hashing it.
        all.first { $0.name == name } ?? byKey[name.comparisonKey]
    }

    /// `quantity` of unit `from` in unit `to`; nil when either is unknown or they are of different
    /// quantity types.
    static func convert(_ quantity: Double, from: String, to: String) -> Double? {
        guard let source = named(from), let target = named(to), source.quantityType == target.quantityType
        else { return nil }
        return source.convert(quantity, to: target)
    }

    /// The units of one quantity type, for a fix: "Grams, Milligrams, Kilograms, Ounces or Pounds".
    static func names(of type: QuantityType) -> [String] {
        all.filter { $0.quantityType == type }.map(\.name)
    }
}

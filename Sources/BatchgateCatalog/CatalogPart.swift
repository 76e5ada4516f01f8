import BatchgateMetrc

/// The parts of the catalog read from Metrc: each has its own endpoint, and the cache records
/// for each how far it is synced and when, so a sync cut short by a failure redoes only its part.
public enum CatalogPart: String, Sendable, CaseIterable, Comparable {
    case items
    case activePackages = "packages.active"
    case onHoldPackages = "packages.onhold"
    case inactivePackages = "packages.inactive"

    /// The endpoint that lists this part, windowed and paged.
    public var endpoint: MetrcEndpoint {
        switch self {
        case .items: .activeItems
        case .activePackages: .activePackages
        case .onHoldPackages: .onHoldPackages
        case .inactivePackages: .inactivePackages
        }
    }

    /// The package state of a package part; nil for items.
    public var packageState: PackageState? {
        switch self {
        case .items: nil
        case .activePackages: .active
        case .onHoldPackages: .onHold
        case .inactivePackages: .inactive
        }
    }

    /// In the order a sync reads them: items first (a package's category may name one), then
    /// packages from the most to the least used as a source.
    public static func < (lhs: CatalogPart, rhs: CatalogPart) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

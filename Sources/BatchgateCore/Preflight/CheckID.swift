/// The pre-flight checks: what Metrc would refuse, or accept and regret, in a create-package
/// request that the production-batch rules pass (docs/rules.md, "Before Metrc"). Ids are written
/// in reports and in `rules.checks` exactly as their raw values.
public enum CheckID: String, Sendable, CaseIterable, Comparable {
    /// A new package's tag is already a package of the facility: Metrc answers "Tag … is not available."
    case tagInUse = "tag-in-use"
    /// A source tag is not a package of this facility: "Package … does not exist in the current Facility."
    case sourceNotInFacility = "source-not-in-facility"
    /// A source package is finished, discontinued or archived.
    case sourceInactive = "source-inactive"
    /// A source package is on hold.
    case sourceOnHold = "source-on-hold"
    /// A source package's lab testing state is a failed one.
    case sourceLabFailed = "source-lab-failed"
    /// The manifest takes more from a source package than it holds, summed over every package.
    case sourceOverUsed = "source-over-used"
    /// An ingredient's unit is not of its source package's quantity type.
    case ingredientUnit = "ingredient-unit"
    /// A new package's unit is not of its item's quantity type.
    case packageUnit = "package-unit"
    /// `ActualDate` is later than today anywhere on Earth.
    case dateFuture = "date-future"
    /// `ActualDate` is before a source package's packaged date.
    case dateBeforeSource = "date-before-source"
    /// One request holds more packages than Metrc is reported to take at once.
    case tooManyPackages = "too-many-packages"
    /// One production batch number on packages of different items.
    case batchNumberReused = "batch-number-reused"
    /// A batch number given with the Production Batch indicator off.
    case batchNumberUnmarked = "batch-number-unmarked"

    /// How sure batchgate is that Metrc behaves as the check says, which decides its default level.
    enum Basis: String, Sendable {
        /// Metrc's documentation, its own error text or its data model says so (every unit and item
        /// has a quantity type, and quantities convert only within one).
        case documented
        /// Reported by people who use Metrc's API, not by Metrc.
        case reported
        /// batchgate's reading: Metrc accepts it, but it is almost surely a mistake.
        case inferred
    }

    /// The level a facility gets without configuring one: `error` only where Metrc is documented
    /// or reported to refuse the request, so a default never rejects what Metrc takes.
    public var defaultLevel: CheckLevel {
        switch self {
        case .tagInUse, .sourceNotInFacility, .sourceInactive, .sourceOnHold, .sourceOverUsed,
             .ingredientUnit, .packageUnit:
            .error
        case .sourceLabFailed, .dateFuture, .dateBeforeSource, .tooManyPackages, .batchNumberReused,
             .batchNumberUnmarked:
            .warning
        }
    }

    /// See ``Basis``.
    var basis: Basis {
        switch self {
        case .tagInUse, .sourceNotInFacility, .ingredientUnit, .packageUnit: .documented
        case .sourceInactive, .sourceOnHold, .sourceOverUsed, .tooManyPackages: .reported
        case .sourceLabFailed, .dateFuture, .dateBeforeSource, .batchNumberReused, .batchNumberUnmarked: .inferred
        }
    }

    /// One line for `config check` and `--help`.
    public var summary: String {
        switch self {
        case .tagInUse: "a new package's tag is already a package of the facility"
        case .sourceNotInFacility: "a source tag is not a package of this facility in Metrc"
        case .sourceInactive: "a source package is finished or archived"
        case .sourceOnHold: "a source package is on hold"
        case .sourceLabFailed: "a source package failed its lab tests"
        case .sourceOverUsed: "the manifest takes more from a source than it holds"
        case .ingredientUnit: "an ingredient's unit is not of its source's quantity type"
        case .packageUnit: "a new package's unit is not of its item's quantity type"
        case .dateFuture: "ActualDate is in the future"
        case .dateBeforeSource: "ActualDate is before a source's packaged date"
        case .tooManyPackages: "the manifest holds more than 10 packages"
        case .batchNumberReused: "one batch number on packages of different items"
        case .batchNumberUnmarked: "a batch number given with IsProductionBatch false"
        }
    }

    public static func < (lhs: CheckID, rhs: CheckID) -> Bool {
        allCases.firstIndex(of: lhs)! < allCases.firstIndex(of: rhs)!
    }
}

/// What a failed check does to a package.
public enum CheckLevel: String, Sendable, CaseIterable {
    /// The package is invalid and the manifest rejected: Metrc would refuse it.
    case error
    /// Reported and alerted; the decision stays.
    case warning
    /// Not run, and not listed as skipped.
    case off
}

/// The level of each pre-flight check, for one facility: the defaults of ``CheckID/defaultLevel``
/// with what the facility's config (`rules.checks`) or `batchgate check --check` changes.
public struct CheckSettings: Sendable, Equatable {
    private var levels: [CheckID: CheckLevel]

    /// Every check at its default level, with `overrides` laid over.
    public init(_ overrides: [CheckID: CheckLevel] = [:]) {
        levels = overrides
    }

    /// The level `check` runs at.
    public func level(_ check: CheckID) -> CheckLevel {
        levels[check] ?? check.defaultLevel
    }

    /// Sets one check's level.
    public mutating func set(_ check: CheckID, to level: CheckLevel) {
        levels[check] = level
    }

    /// Whether `check` runs at all.
    public func runs(_ check: CheckID) -> Bool { level(check) != .off }
}

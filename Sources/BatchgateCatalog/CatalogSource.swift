import BatchgateCore

/// Where the router takes its catalog from when it is live (Metrc's): the catalog as it stands,
/// and look-ups of what a manifest needed and the catalog lacked. Files alone need none: their
/// catalog is read once into the checker.
public protocol CatalogSource: AnyObject, Sendable {
    /// The catalog to evaluate with now.
    var current: Catalog { get }

    /// Looks up what `misses` names (source tags by label, unknown items by a refresh of the
    /// items), taking at most the configured look-up time. Blocking: call it from a thread that
    /// may wait that long.
    func lookUp(_ misses: CatalogMisses) -> LookupOutcome
}

/// What a look-up came to.
public enum LookupOutcome: Sendable, Equatable {
    /// Metrc answered every look-up (found or not): evaluate again with this catalog. A tag it
    /// does not know is still missing from it, and the manifest is rejected naming the tag.
    case answered(Catalog)
    /// Metrc did not answer (down, too slow, refusing the keys): the manifest cannot be decided
    /// now and waits; the reason says why, for the log.
    case unavailable(String)
}

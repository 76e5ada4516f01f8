/// What differs between the credentials a service was started with and those one
/// `LoadCredential=ID:DIR` line would give it now, by name only. systemd copies credentials into
/// the service's `$CREDENTIALS_DIRECTORY` when it starts the service and never again, so a secret
/// rotated in DIR reaches the daemon only through a restart; this says which ones wait for it.
///
/// Values are compared byte for byte and are never part of the result.
public struct CredentialChanges: Sendable, Equatable {
    /// Names in both whose bytes differ, sorted.
    public var changed: [String]
    /// Names the folder would give now that the service was not started with, sorted.
    public var added: [String]
    /// Names the service was started with that the folder would no longer give, sorted.
    public var removed: [String]

    /// True when the service runs with exactly what the folder holds.
    public var isEmpty: Bool { changed.isEmpty && added.isEmpty && removed.isEmpty }

    /// Compares `loaded` (the service's credentials, by name) with `source` (what the folder of
    /// the credential `id` would give, by name). Only loaded names that start with `id_` come
    /// from that folder: a service may have other credentials, from other lines, and those are
    /// no business of this one.
    public init(loaded: [String: [UInt8]], source: [String: [UInt8]], id: String) {
        let prefix = id + "_"
        let fromFolder = loaded.filter { $0.key.hasPrefix(prefix) }
        changed = fromFolder.compactMap { name, bytes in
            guard let now = source[name], now != bytes else { return nil }
            return name
        }.sorted()
        added = source.keys.filter { fromFolder[$0] == nil }.sorted()
        removed = fromFolder.keys.filter { source[$0] == nil }.sorted()
    }
}

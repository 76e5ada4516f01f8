/// Which names in a drop folder are still being written, or are not meant for batchgate
/// (docs/manifests.md §1): they are left alone until renamed.
public enum DropFolderNames {
    /// Endings that writers use for files in progress (browsers, rsync, WinSCP, editors).
    public static let partialSuffixes = [".tmp", ".part", ".partial", ".filepart", ".crdownload", "~"]

    /// True for names beginning with `.` and names ending in a partial-file suffix (any case).
    public static func isIgnored(_ name: String) -> Bool {
        if name.isEmpty || name.hasPrefix(".") { return true }
        let lower = name.lowercased()
        return partialSuffixes.contains { lower.hasSuffix($0) }
    }
}

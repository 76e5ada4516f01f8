/// Where the state root and the inbox may be. Pure: the file system is reached only through the
/// `canonical` function callers pass (``System/canonicalPath(_:)`` in the binary, a dictionary in
/// tests), which resolves the symbolic links of a path that exists.
///
/// Two mistakes are refused. An inbox that is the state root, or in one of the daemon's own folders,
/// makes the daemon take back what it wrote there (at `accepted/`, one manifest was routed 293
/// times in 8 s; at the state root, it routed its own `audit.jsonl`; at `processing/`, a claimed
/// file waits for ever). A state root at `/` or a system folder makes the daemon create its folders
/// and lock file among the system's, and, run as root, route files it was never meant to touch.
public enum LayoutPlacement {
    /// The setting a problem is about, named as the config file names it.
    enum Setting: String, Sendable {
        case stateRoot, inbox
        case metricsTextfile = "metrics.textfile"
    }

    /// A state root or inbox the daemon must not use: which setting, and a reason a person can act on.
    public struct Problem: Error, Sendable, Equatable, CustomStringConvertible {
        var setting: Setting
        public var reason: String

        public var description: String { reason }
    }

    /// Folders the state root may not be, though a folder under them may: `/var/lib/batchgate` is
    /// the service's own state root, `/tmp/x` a test's.
    static let systemFolders: Set<String> = [
        "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64", "/libx32", "/opt", "/proc",
        "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/var", "/var/lib", "/var/tmp", "/mnt", "/media",
    ]

    /// Folders the state root may be neither in nor under: kernel interfaces, devices and the
    /// installed system, none of which is a place for data.
    static let systemTrees = [
        "/proc", "/sys", "/dev", "/boot", "/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/libexec",
    ]

    /// The daemon's own folders under the state root, deepest first so that the message names the
    /// folder the inbox is really in, with what the daemon keeps there.
    static let ownFolders: [(name: String, holds: String)] = [
        ("outbox/dead", "alerts it gave up on"),
        ("outbox", "alerts not yet delivered"),
        ("processing", "a manifest while it reads it, so a file there would wait for ever"),
        ("accepted", "the manifests it routes, so it would route them again and again"),
        ("needs-batch", "the manifests it routes, so it would route them again and again"),
        ("rejected", "the manifests it routes, so it would route them again and again"),
    ]

    /// The problem with running on `stateRoot` and `inbox` (nil for `<stateRoot>/inbox`), or nil
    /// when there is none. Paths are absolute or relative to the working folder, as the daemon
    /// will use them; both are resolved with ``resolved(_:canonical:)`` before they are compared.
    public static func problem(
        stateRoot: String, inbox: String?, metricsFile: String? = nil, canonical: (String) -> String?
    ) -> Problem? {
        let root = Placed(stateRoot, canonical: canonical)
        if let problem = stateRootProblem(root) { return problem }
        let ownFolders = ownFolders.map { folder in
            (name: folder.name, holds: folder.holds,
             path: resolved(FilePaths.join(root.written, folder.name), canonical: canonical))
        }
        if let inbox, let problem = inboxProblem(Placed(inbox, canonical: canonical), root: root, ownFolders: ownFolders) {
            return problem
        }
        guard let metricsFile else { return nil }
        let inboxFolder = Placed(inbox ?? FilePaths.join(root.written, "inbox"), canonical: canonical)
        return metricsProblem(Placed(metricsFile, canonical: canonical), inbox: inboxFolder, root: root, ownFolders: ownFolders)
    }

    /// The rule for the metrics file: it may not be in the inbox (the daemon would take each one it
    /// writes for a manifest, reject it and alert on it, at every interval) nor in one of its own
    /// folders (where it would be routed again, or sent as an alert).
    static func metricsProblem(
        _ file: Placed, inbox: Placed, root: Placed, ownFolders: [(name: String, holds: String, path: String)]
    ) -> Problem? {
        let remedy = "write it into node_exporter's textfile folder (such as /var/lib/prometheus/node-exporter) or "
            + "the state root itself"
        if FilePaths.isSame(file.resolved, orUnder: inbox.resolved) {
            return Problem(setting: .metricsTextfile,
                           reason: "the metrics file \(file.shown) is in the inbox \(inbox.shown): the daemon would take each "
                               + "one it writes for a manifest and reject it; \(remedy)")
        }
        for folder in ownFolders where FilePaths.isSame(file.resolved, orUnder: folder.path) {
            return Problem(setting: .metricsTextfile,
                           reason: "the metrics file \(file.shown) is in the daemon's own \(folder.name)/ folder under the "
                               + "state root \(root.written), where it keeps \(folder.holds); \(remedy)")
        }
        return nil
    }

    /// A path as written (with `.`, `//` and a trailing `/` dropped) and as resolved.
    struct Placed {
        var written: String
        var resolved: String

        init(_ path: String, canonical: (String) -> String?) {
            written = FilePaths.normalized(path)
            resolved = LayoutPlacement.resolved(path, canonical: canonical)
        }

        init(written: String, resolved: String) {
            self.written = written
            self.resolved = resolved
        }

        /// `/srv/bg`, or `/srv/bg (which leads to /data/bg)` when a link or `..` changes it.
        var shown: String {
            written == resolved ? written : "\(written) (which leads to \(resolved))"
        }
    }

    /// The rule for the state root: neither it as written (if absolute) nor where it leads may be
    /// a system folder or under a system tree, so that a link to `/` is refused as `/` is.
    static func stateRootProblem(_ root: Placed) -> Problem? {
        let candidates = root.written.hasPrefix("/") ? [normalized(root.written), root.resolved] : [root.resolved]
        let remedy = "give a folder of its own, such as /var/lib/batchgate or /srv/batchgate/state"
        for path in candidates {
            if systemFolders.contains(path) {
                let what = path == "/" ? "the root folder" : "a system folder"
                return Problem(setting: .stateRoot,
                               reason: "the state root \(root.shown) is \(what): the daemon would create its folders, "
                                   + "lock and audit log among the system's; \(remedy)")
            }
            if let tree = systemTree(containing: path) {
                return Problem(setting: .stateRoot,
                               reason: "the state root cannot be under \(tree): \(root.shown) is in a folder that holds "
                                   + "the system's own files; \(remedy)")
            }
        }
        return nil
    }

    /// The system tree `path` is in or under, such as `/usr` or `/lib64`, or nil.
    static func systemTree(containing path: String) -> String? {
        systemTrees.first { FilePaths.isSame(path, orUnder: $0) }
    }

    /// The rule for the inbox, on resolved paths: it may not be the state root, nor be or be under
    /// one of the daemon's own folders (`ownFolders`, each resolved on its own, since `accepted/`
    /// may itself be a link), nor be `/` or a system folder.
    static func inboxProblem(
        _ inbox: Placed, root: Placed, ownFolders: [(name: String, holds: String, path: String)]
    ) -> Problem? {
        let remedy = "leave inbox: out (for \(FilePaths.join(root.written, "inbox"))) or name a folder outside "
            + "processing/, accepted/, needs-batch/, rejected/ and outbox/"
        if inbox.resolved == root.resolved {
            return Problem(setting: .inbox,
                           reason: "the inbox \(inbox.shown) is the state root itself, where the daemon keeps audit.jsonl "
                               + "and its folders: it would route its own files; \(remedy)")
        }
        for folder in ownFolders where FilePaths.isSame(inbox.resolved, orUnder: folder.path) {
            let relation = inbox.resolved == folder.path ? "is" : "is inside"
            return Problem(setting: .inbox,
                           reason: "the inbox \(inbox.shown) \(relation) the daemon's own \(folder.name)/ folder under the "
                               + "state root \(root.written), where it keeps \(folder.holds); \(remedy)")
        }
        if systemFolders.contains(inbox.resolved) {
            return Problem(setting: .inbox,
                           reason: "the inbox \(inbox.shown) is a system folder: the daemon would move the system's files "
                               + "out of it; \(remedy)")
        }
        return nil
    }

    /// `path` with its symbolic links resolved as far as it exists, then the rest (which the
    /// daemon will create) normalised as text: `.`, repeated and trailing slashes dropped, and a
    /// `..` taking off the name before it, as `mkdir` on each component would have it.
    ///
    /// `canonical` returns the absolute, link-free path of an existing path (`realpath(3)`), or
    /// nil when it does not exist. A relative path that leads nowhere that exists is resolved from
    /// `canonical(".")`, the working folder.
    static func resolved(_ path: String, canonical: (String) -> String?) -> String {
        let absolute = path.hasPrefix("/")
        let components = path.split(separator: "/", omittingEmptySubsequences: true).map(String.init)
        for existing in stride(from: components.count, through: 0, by: -1) {
            let head = components[..<existing].joined(separator: "/")
            let prefix = absolute ? "/" + head : (head.isEmpty ? "." : head)
            guard let real = canonical(prefix) else { continue }
            let rest = components[existing...].joined(separator: "/")
            return normalized(rest.isEmpty ? real : FilePaths.join(real, rest))
        }
        return normalized(path)
    }

    /// `path` without `.`, empty components and a trailing slash, each `..` taking off the name
    /// before it (at `/`, `..` is `/`). Purely textual: use it only where no link can be in the way.
    static func normalized(_ path: String) -> String {
        let absolute = path.hasPrefix("/")
        var kept: [Substring] = []
        for component in path.split(separator: "/") where component != "." {
            if component == "..", let last = kept.last, last != ".." {
                kept.removeLast()
            } else if component == "..", absolute {
                continue
            } else {
                kept.append(component)
            }
        }
        let joined = kept.joined(separator: "/")
        if absolute { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }
}

extension FilePaths {
    /// Whether `path` is `folder` or inside it, comparing whole names: `/a/bc` is not under `/a/b`.
    /// Both must be normalised alike.
    static func isSame(_ path: String, orUnder folder: String) -> Bool {
        path == folder || path.hasPrefix(folder == "/" ? "/" : folder + "/")
    }
}

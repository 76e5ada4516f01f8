/// Path arithmetic on strings, without touching the file system.
enum FilePaths {
    /// `path` if absolute, else `path` under `base`; `.` components and repeated or trailing
    /// slashes are dropped. `..` is kept (it means something else after a symbolic link), and
    /// `~` is an ordinary name.
    static func resolve(_ path: String, against base: String) -> String {
        normalized(path.hasPrefix("/") || base.isEmpty ? path : join(base, path))
    }

    /// `directory` and `name` joined with one slash.
    static func join(_ directory: String, _ name: String) -> String {
        directory.hasSuffix("/") ? directory + name : directory + "/" + name
    }

    static func normalized(_ path: String) -> String {
        let components = path.split(separator: "/").filter { $0 != "." }
        let joined = components.joined(separator: "/")
        if path.hasPrefix("/") { return "/" + joined }
        return joined.isEmpty ? "." : joined
    }
}

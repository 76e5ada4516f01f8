import BatchgateDaemon

/// Reads the YAML configuration file at the edge and hands its text to the pure loader.
enum ConfigFile {
    /// The configuration in `path`, with relative paths taken from the file's folder and the
    /// alert secrets read (files, systemd credentials, environment variables).
    static func load(path: String) throws -> DaemonSettings {
        try loadConfig(path: path).settings(secrets: .system(), fileName: path)
    }

    static func loadConfig(path: String) throws -> DaemonConfig {
        let contents: FileBytes.Contents
        do {
            contents = try FileBytes.read(path, limit: 1 << 20)
        } catch {
            throw ConfigError(file: path, reason: error.description)
        }
        guard contents.bytes.count <= 1 << 20 else {
            throw ConfigError(file: path, reason: "the file is over 1 MiB; is this the configuration file?")
        }
        guard let text = String(validating: contents.bytes, as: UTF8.self) else {
            throw ConfigError(file: path, reason: "the file is not UTF-8 text")
        }
        let folder = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        return try ConfigLoader.load(yaml: text, fileName: path, baseDirectory: folder.isEmpty ? "/" : folder)
    }
}

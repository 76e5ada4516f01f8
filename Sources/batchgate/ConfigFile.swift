import BatchgateDaemon

/// Reads the YAML configuration file and turns it into daemon settings.
enum ConfigFile {
    static func load(path: String) throws -> DaemonSettings {
        throw ConfigFileUnavailable(path: path)
    }
}

struct ConfigFileUnavailable: Error, CustomStringConvertible {
    var path: String
    var description: String { "\(path): configuration files are read by the config module" }
}

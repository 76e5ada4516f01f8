import ArgumentParser
import BatchgateDaemon
import BatchgateSystem
import BatchgateConfig

/// Reads the YAML configuration file at the edge and hands its text to the pure loader.
enum ConfigFile {
    /// The configuration in `path`, with relative paths taken from the file's folder, and its
    /// secrets read through `resolver` (files, systemd credentials, environment variables).
    static func load(path: String, resolver: SecretResolver = .system()) throws -> (DaemonConfig, ConfigSecrets) {
        let config = try loadConfig(path: path)
        return (config, try config.secrets(resolver: resolver, fileName: path))
    }

    /// The largest config file read: 1 MiB. The example with every setting and comment is under
    /// 10 KiB; a larger file is not a configuration.
    static let sizeLimit = 1 << 20

    /// The configuration in `path`, its relative paths resolved and its state root and inbox
    /// checked (``LayoutPlacement``); secrets are not read.
    static func loadConfig(path: String) throws -> DaemonConfig {
        let bytes: [UInt8]
        do {
            bytes = try RegularFile.read(path, limit: sizeLimit)
        } catch {
            var reason = error.described(as: "the file")
            if case .tooLarge = error.problem { reason += "; is this the configuration file?" }
            throw ConfigError(file: path, reason: reason)
        }
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw ConfigError(file: path, reason: "the file is not UTF-8 text")
        }
        let folder = path.contains("/") ? String(path[..<path.lastIndex(of: "/")!]) : "."
        let config = try ConfigLoader.load(yaml: text, fileName: path, baseDirectory: folder.isEmpty ? "/" : folder)
        try ConfigLoader.checkPlacement(of: config, yaml: text, fileName: path, canonical: System.canonicalPath)
        return config
    }

    /// ``loadConfig(path:)`` for a command that cannot go on without it: a bad file is written to
    /// standard error and the command exits 78 (EX_CONFIG), as every command does for its config.
    static func loadConfigOrExit(path: String) throws(ExitCode) -> DaemonConfig {
        do {
            return try loadConfig(path: path)
        } catch {
            ProcessEnvironment.writeError("batchgate: \(error)")
            throw ExitCode(78)
        }
    }
}

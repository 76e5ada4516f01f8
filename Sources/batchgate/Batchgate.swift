import ArgumentParser

/// The `batchgate` command: checks Metrc packaging manifests for the Production Batch rules.
@main
struct Batchgate: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "batchgate",
        abstract: "Checks Metrc packaging manifests: does each new package need the Production Batch indicator?",
        version: batchgateVersion,
        subcommands: [CheckCommand.self, RunCommand.self, StatusCommand.self, ConfigCommand.self, AlertCommand.self, CatalogCommand.self]
    )
}

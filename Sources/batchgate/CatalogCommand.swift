import ArgumentParser
import BatchgateCatalog
import BatchgateConfig
import BatchgateCore
import BatchgateMetrc
import BatchgateSystem

/// `batchgate catalog`: the catalog synced from Metrc (`catalog.metrc`) and its cache.
struct CatalogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "catalog",
        abstract: "Sync the catalog from Metrc, or show what its cache says.",
        subcommands: [Sync.self, Show.self]
    )

    /// `batchgate catalog sync`: one sync into the cache, as the daemon makes at start.
    struct Sync: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "sync",
            abstract: "Sync the catalog from Metrc into the cache in the state root once, and print what it read.",
            discussion: """
                Reads what changed since the cache's last sync (or the configured history the first \
                time), within the configured rate limits. A running daemon keeps its own catalog in \
                memory and syncs on its own; this is for a first fill, a check of the keys, or a look \
                at the rate reached.

                Exit status: 0 when every part was read; 69 when Metrc did not answer; 77 when it \
                refused the keys or a permission; 70 for another failure (an unreadable answer, \
                records that kept moving); 73 when the cache cannot be written; 75 while the \
                daemon runs on the same state root; 78 for a configuration without catalog.metrc \
                or that cannot be read.
                """
        )

        @Option(help: ArgumentHelp("The YAML configuration file.", valueName: "file"))
        var config: String

        func run() throws {
            let (settings, secrets) = try loadConfiguration(config)
            guard let metrc = settings.catalog.metrc, let keys = secrets.metrc else {
                ProcessEnvironment.writeError("batchgate: \(config) has no catalog.metrc: there is no Metrc account to sync from")
                throw ExitCode(78)
            }
            do {
                try System.makeDirectories(settings.layout.catalogFolder)
            } catch {
                ProcessEnvironment.writeError("batchgate: cannot create \(settings.layout.catalogFolder): \(error)")
                throw ExitCode(73)
            }
            // The state root's lock, which the daemon holds: a sync beside a running daemon would be
            // a second client spending the facility's rate, and a second writer of its cache.
            let lock: Int32
            do {
                lock = try settings.layout.lock()
            } catch {
                ProcessEnvironment.writeError("batchgate: \(error) (a running daemon syncs the catalog itself every catalog.metrc.refresh; stop it first to sync by hand)")
                throw ExitCode(75)
            }
            defer { System.close(lock) }
            let service = CatalogService.Settings(config: metrc, keys: keys, cachePath: settings.layout.metrcCache)
            var snapshot = MetrcSnapshot(server: service.api.server, licenseNumber: service.api.licenseNumber)
            var errors = FileOutput.standardError
            do {
                if let cached = try MetrcCacheFile.load(service.cachePath),
                   cached.server == snapshot.server, cached.licenseNumber == snapshot.licenseNumber {
                    snapshot = cached
                }
            } catch {
                errors.write("batchgate: \(error); a full sync replaces it\n")
                errors.flush()
            }
            let client = MetrcClient(api: service.api, transport: CatalogService.transport, retry: CatalogService.retry)
            let sync = CatalogSync(client: client, history: service.history)
            var saveFailure: String?
            let report = sync.run(&snapshot) { snapshot in
                do {
                    try MetrcCacheFile.save(snapshot, to: service.cachePath)
                } catch {
                    saveFailure = "\(error)"
                }
            }
            var output = FileOutput.standardOutput
            output.write("synced from \(service.api.server) (licence \(service.api.licenseNumber), at most \(service.api.requestsPerSecond) GETs/s, \(service.api.concurrentRequests) at once)\n")
            for part in report.parts {
                let outcome = part.error.map { "failed: \($0)" } ?? "ok"
                output.write("  \(Self.column(part.part.rawValue)) \(part.records) records, \(part.requests) GETs, \(Self.seconds(part.seconds)): \(outcome)\n")
                for skipped in part.skipped.prefix(5) { output.write("    left out: \(skipped)\n") }
                if part.skippedCount > 5 { output.write("    … and \(part.skippedCount - 5) more left out\n") }
            }
            for part in report.untried {
                output.write("  \(Self.column(part.rawValue)) not tried: Metrc did not answer the part before\n")
            }
            output.write("total: \(report.requests) GETs in \(Self.seconds(report.seconds)), \(NumberText.fixed(report.requestsPerSecond, 1)) GETs/s\n")
            output.write("cache: \(service.cachePath): \(snapshot.itemCount) items, \(snapshot.packageCount) packages\n")
            output.flush()
            if let saveFailure {
                errors.write("batchgate: cannot save the cache: \(saveFailure)\n")
                errors.flush()
                throw ExitCode(73)
            }
            guard let error = report.firstError else { return }
            switch error {
            case .metrc(.unauthorized), .metrc(.forbidden): throw ExitCode(77)
            case _ where error.isUnreachable: throw ExitCode(69)
            default: throw ExitCode(70)
            }
        }

        static func seconds(_ value: Double) -> String { NumberText.fixed(value, 2) + " s" }

        /// A part's name in a column wide enough for the longest.
        static func column(_ name: String) -> String {
            name + String(repeating: " ", count: max(0, 18 - name.count))
        }
    }

    /// `batchgate catalog show`: what the cache says of a tag or an item name.
    struct Show: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "show",
            abstract: "Show what the cache knows of a package tag or an item name, and when it learned it.",
            discussion: "Exit status: 0 when found; 1 when the cache does not hold it; 78 for a configuration or cache that cannot be read."
        )

        @Option(help: ArgumentHelp("The YAML configuration file.", valueName: "file"))
        var config: String

        @Argument(help: ArgumentHelp("A package tag or an item name.", valueName: "tag-or-item"))
        var name: String

        func run() throws {
            let settings = try ConfigFile.loadConfigOrExit(path: config)
            let path = settings.layout.metrcCache
            let snapshot: MetrcSnapshot
            do {
                guard let cached = try MetrcCacheFile.load(path) else {
                    ProcessEnvironment.writeError("batchgate: there is no Metrc catalog cache at \(path) yet (run batchgate catalog sync, or start the daemon with catalog.metrc)")
                    throw ExitCode(1)
                }
                snapshot = cached
            } catch let error as MetrcCacheError {
                ProcessEnvironment.writeError("batchgate: \(error)")
                throw ExitCode(78)
            }
            var output = FileOutput.standardOutput
            let tag = String(name.filter { !$0.isWhitespace }).uppercased()
            var found = false
            if let package = snapshot.package(tagged: tag) {
                found = true
                let origin = package.part.map { "the sync of \($0.rawValue)" } ?? "a look-up by its label"
                let entry = package.catalogEntry
                output.write("""
                    package \(entry.tag)
                      item:          \(entry.item ?? "unknown")
                      category:      \(entry.category ?? "unknown")
                      holds:         \(Self.quantity(entry))
                      state:         \(Self.state(entry))
                      learned:       \(Timestamp.iso8601(package.learnedAt)) from \(origin)
                      last modified: \(package.lastModified ?? "not given by Metrc")

                    """)
            }
            if let item = snapshot.item(named: name) {
                found = true
                output.write("""
                    item \(item.entry.name)
                      category:      \(item.entry.category)
                      counted:       \(item.entry.quantityType?.rawValue ?? "quantity type not given by Metrc")\(item.entry.unitOfMeasure.map { ", in \($0)" } ?? "")
                      learned:       \(Timestamp.iso8601(item.learnedAt)) from the sync of items
                      last modified: \(item.lastModified ?? "not given by Metrc")

                    """)
            }
            let syncs = CatalogPart.allCases.map { part in
                snapshot.parts[part].map { "\(part.rawValue) synced \(Timestamp.iso8601($0.syncedAt)) (until \(Timestamp.iso8601($0.syncedUntil)))" }
                    ?? "\(part.rawValue) never synced"
            }
            output.write("cache \(path) of \(snapshot.server) licence \(snapshot.licenseNumber): \(snapshot.itemCount) items, \(snapshot.packageCount) packages; \(syncs.joined(separator: "; "))\n")
            output.flush()
            if !found {
                ProcessEnvironment.writeError("batchgate: the cache holds no package tagged \(tag) and no item named \(name)")
                throw ExitCode(1)
            }
        }
    }
}

extension CatalogCommand.Show {
    /// What a package holds, as Metrc last said: `1360.8 Grams`.
    static func quantity(_ package: Catalog.Package) -> String {
        guard let quantity = package.quantity else { return "not given by Metrc" }
        // Whole quantities without a fraction, others as the shortest text that reads back the same.
        let text = quantity == quantity.rounded() && abs(quantity) < 1e15 ? String(Int64(quantity)) : String(quantity)
        return text + (package.unitOfMeasure.map { " " + $0 } ?? "")
    }

    /// A package's state as Metrc's fields (or the list it was synced from) say:
    /// `finished 2026-03-01; lab testing TestPassed; packaged 2026-02-10; production batch PB-7`.
    static func state(_ package: Catalog.Package) -> String {
        var words: [String] = []
        if let archived = package.archivedDate { words.append("archived \(archived)") }
        if let finished = package.finishedDate { words.append("finished \(finished)") } else if package.isFinished == true { words.append("finished") }
        if package.isOnHold == true { words.append("on hold") }
        if words.isEmpty && (package.isFinished == false || package.isOnHold == false) { words.append("active") }
        if let lab = package.labTestingState { words.append("lab testing \(lab)") }
        if let packaged = package.packagedDate { words.append("packaged \(packaged)") }
        if let batch = package.productionBatchNumber { words.append("production batch \(batch)") }
        return words.isEmpty ? "not given by Metrc" : words.joined(separator: "; ")
    }
}

/// The configuration and its secrets, or exit 78 with the message.
private func loadConfiguration(_ path: String) throws -> (DaemonConfig, ConfigSecrets) {
    do {
        return try ConfigFile.load(path: path)
    } catch {
        ProcessEnvironment.writeError("batchgate: \(error)")
        throw ExitCode(78)
    }
}

#if canImport(Glibc)
import Glibc
#endif
import BatchgateCore
import BatchgateSystem
import BatchgateConfig

/// The folders a manifest passes through, held open (``HeldFolder``): the inbox, `processing/`,
/// the three outcome folders, and the state root, whose filesystem is flushed in one call. Every
/// move between them is a rename that never replaces a name, so no file is ever lost to another
/// of the same name; a name taken is found out here, and a free one chosen.
final class RoutingFolders {
    let layout: StateLayout
    let root: HeldFolder
    let inbox: HeldFolder
    let processing: HeldFolder
    private let outcomes: [Decision: HeldFolder]

    init(layout: StateLayout) throws(SystemError) {
        self.layout = layout
        root = try HeldFolder(layout.root, followsLinks: true)
        inbox = try HeldFolder(layout.inbox)
        processing = try HeldFolder(layout.processing)
        var folders: [Decision: HeldFolder] = [:]
        for decision in Decision.allCases { folders[decision] = try HeldFolder(layout.folder(for: decision)) }
        outcomes = folders
    }

    /// The outcome folder of a decision.
    func outcome(_ decision: Decision) -> HeldFolder { outcomes[decision]! }

    /// Every folder held, the state root first.
    var all: [HeldFolder] { [root, inbox, processing] + Decision.allCases.map(outcome) }

    /// Step 1: renames an inbox file into `processing/` under its own name; EEXIST when
    /// `processing/` holds that name, ENOENT when the file is gone.
    func claim(_ name: String) throws(SystemError) {
        try System.renameNoReplace(from: inbox.fd, name, to: processing.fd, name, describing: layout.inbox + "/" + name)
    }

    /// Step 6: moves a manifest from `processing/` into its outcome folder under its final name.
    func move(_ entry: JournalEntry) throws(SystemError) {
        try System.renameNoReplace(from: processing.fd, entry.name, to: outcome(entry.decision).fd, entry.finalName,
                                   describing: layout.processing + "/" + entry.name)
    }

    /// Whether a name is taken in a folder: any file, or one that cannot be looked at.
    func exists(_ folder: HeldFolder, _ name: String) -> Bool {
        do {
            _ = try System.lstatAt(folder.fd, name)
            return true
        } catch {
            return error.errno != ENOENT
        }
    }

    /// True when the two names are one file (same device and inode).
    func sameFile(_ folderA: HeldFolder, _ nameA: String, _ folderB: HeldFolder, _ nameB: String) -> Bool {
        guard let a = try? System.lstatAt(folderA.fd, nameA), let b = try? System.lstatAt(folderB.fd, nameB) else { return false }
        return a.st_dev == b.st_dev && a.st_ino == b.st_ino
    }

    /// The names a route under `finalName` takes in its folder: the manifest's and its reports'.
    /// A batch reserves all three, so that no manifest of it is named like another one's report.
    func reservedNames(_ finalName: String) -> [String] {
        [finalName, ReportNames.json(of: finalName), ReportNames.text(of: finalName)]
    }

    /// Whether neither a manifest nor a report of this name is in the outcome folder.
    func isFree(_ name: String, in decision: Decision) -> Bool {
        let folder = outcome(decision)
        return reservedNames(name).allSatisfy { !exists(folder, $0) }
    }

    /// The first of `name`, `name.2`, `name.3`, … that neither the folder (as a manifest or a
    /// report) nor this batch has taken. `ownNameFree`, when known, is what the folder said of
    /// `name` itself (looked up by the worker that read the file), so it is not asked again.
    func freeName(_ name: String, in decision: Decision, reserved: inout Set<String>, ownNameFree: Bool? = nil) -> String {
        var number = 1
        while true {
            let candidate = suffixedName(name, number)
            let names = reservedNames(candidate)
            if reserved.isDisjoint(with: names),
               (number == 1 ? ownNameFree : nil) ?? isFree(candidate, in: decision) {
                reserved.formUnion(names)
                return candidate
            }
            number += 1
        }
    }

    /// Step 5: flushes every file written so far on the state filesystem (`syncfs`).
    func flushFilesystem() throws(SystemError) {
        try System.syncFilesystem(root.fd, describing: layout.root)
    }

    /// Step 6: flushes the outcome folders of these decisions and `processing/`, so the moves are
    /// durable. Returns the failures, each naming its folder.
    func flushFolders(_ decisions: Set<Decision>) -> [SystemError] {
        var failures: [SystemError] = []
        for folder in Decision.allCases.filter(decisions.contains).map(outcome) + [processing] {
            do {
                try System.fsync(folder.fd, describing: folder.path)
            } catch {
                failures.append(error)
            }
        }
        return failures
    }
}

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

    /// A name of `name`, `name.2`, `name.3`, … that neither the folder (as a manifest or a
    /// report) nor this batch has taken: `name` itself when it is free, else the first free number
    /// after a taken one, looked for from the number `name` last took in the folder (see
    /// ``lastSuffix``) or from 2, in steps that double until a free number is met and then halve
    /// back. Where the numbers taken run without a gap, as a scanner that always writes one name
    /// makes them, that is the lowest free one, found in a few look-ups however many copies came
    /// before; a gap left below by a copy moved away may stay a gap. `ownNameFree`, when known, is
    /// what the folder said of `name` itself (looked up by the worker that read the file), so it
    /// is not asked again. Called from the router's thread only.
    func freeName(_ name: String, in decision: Decision, reserved: inout Set<String>, ownNameFree: Bool? = nil) -> String {
        func isAvailable(_ number: Int, folderSays: Bool? = nil) -> Bool {
            let candidate = suffixedName(name, number)
            return reserved.isDisjoint(with: reservedNames(candidate)) && (folderSays ?? isFree(candidate, in: decision))
        }
        func take(_ number: Int) -> String {
            let candidate = suffixedName(name, number)
            reserved.formUnion(reservedNames(candidate))
            if number > 1 { rememberSuffix(number, of: name, in: decision) }
            return candidate
        }
        if isAvailable(1, folderSays: ownNameFree) { return take(1) }
        // Invariant: `taken` is taken; `free`, once found, is available.
        var taken = 1
        var next = firstSuffixToTry(for: name, in: decision)
        if next > 2 { taken = next - 1 }
        var step = 1
        while !isAvailable(next) {
            taken = next
            // The steps stop doubling at a million, so that a folder whose every look-up fails
            // (`exists` counts an error as taken) walks on in steps, as the search from .2 used to,
            // instead of overflowing and stopping the process.
            next += step
            step = min(2 * step, 1 << 20)
        }
        var free = next
        while free - taken > 1 {
            let middle = taken + (free - taken) / 2
            if isAvailable(middle) { free = middle } else { taken = middle }
        }
        return take(free)
    }

    /// For each outcome folder, the number each name last took there when its own name was taken
    /// (`scan.json` → 41 for `scan.41.json`): the next copy looks at 41 and 42 only. (Looking from
    /// 1 up, a scanner that always writes `scan.json` had each new file look up every `scan.N.json`
    /// routed before it: after 20,000 of them, some 80 ms per file.) Only a hint: every name is
    /// still looked up before it is taken, and the creations and moves never replace a name
    /// whatever it says.
    private var lastSuffix: [Decision: [String: Int]] = [:]

    /// Past this many names per folder the hints are dropped (each costs one look-up per name at
    /// most to learn again), so that many names colliding once each cannot grow them for ever.
    static let lastSuffixLimit = 4096

    /// Where the search for a free suffix of `name` starts once `name` itself is taken: after the
    /// number it took last, when that name is still taken (the folder was not emptied since), else
    /// at 2. A number freed below it is not taken again, which costs nothing but a gap.
    private func firstSuffixToTry(for name: String, in decision: Decision) -> Int {
        guard let last = lastSuffix[decision]?[name] else { return 2 }
        if !isFree(suffixedName(name, last), in: decision) { return last + 1 }
        lastSuffix[decision]?[name] = nil
        return 2
    }

    private func rememberSuffix(_ number: Int, of name: String, in decision: Decision) {
        if lastSuffix[decision, default: [:]].count >= Self.lastSuffixLimit { lastSuffix[decision] = [:] }
        lastSuffix[decision, default: [:]][name] = number
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

#if canImport(Glibc)
import Glibc
#endif
import BatchgateCore
import BatchgateSystem

/// The two reports of a route (`<finalName>.report.json` and `.report.txt`) in its outcome
/// folder: what they hold, how they are created (step 4 of ``Router``), and how recovery tells a
/// report the route began from someone else's file at the same name.
enum ReportFiles {
    /// One report file of a route: its name in the outcome folder and its bytes.
    struct File {
        var name: String
        var bytes: [UInt8]
    }

    /// What step 4 does about the reports of one route.
    enum Work: Equatable, Sendable {
        /// Create both under their final names, never replacing a name (a fresh route).
        case create
        /// The manifest moved but a report is missing: create what is missing.
        case createMissing
        /// The manifest was not moved: write both again, replacing what this route began.
        case rewrite
        /// Both are in place beside a moved manifest.
        case keep
    }

    /// Whose file sits at a report's name.
    enum State: Equatable, Sendable {
        case absent
        /// Empty, or starting with this route's header (or with a part of it: a torn write).
        case ours
        /// Anything else: never replaced.
        case foreign
    }

    /// The JSON and text reports of a route, in the order of ``heads(_:)``. Each starts with its
    /// head; a report whose decision is not the route's folder adds why (``recoveryNote(_:_:)``)
    /// after it.
    static func files(_ entry: JournalEntry, _ report: ManifestReport) -> [File] {
        var report = report
        report.file = entry.finalName
        let note = recoveryNote(entry, report)
        // Appended in place rather than joined: each join would copy the whole report again.
        var json = report.jsonLine(extra: extras(entry) + (note.map { [("recovery", $0)] } ?? []))
        json.append(0x0A)
        var text = Array(textHeader(entry).utf8)
        if let note { text += "recovery: \(note)\n".utf8 }
        text.append(0x0A)
        text += report.textUTF8
        return [File(name: entry.reportJSONName, bytes: json), File(name: entry.reportTextName, bytes: text)]
    }

    /// Why a report sits in another folder than its decision, or nil when it does not. Only
    /// recovery writes such a report: for a manifest moved before a crash whose reports were
    /// missing, read again with the catalog and rules in force then. The move stands (the
    /// alerts sent were the journaled decision's), so the report says both.
    static func recoveryNote(_ entry: JournalEntry, _ report: ManifestReport) -> String? {
        guard report.decision != entry.decision else { return nil }
        return "written at recovery: the manifest was routed to \(entry.decision.rawValue)/ at \(entry.routedAt) and stays there; "
            + "read again with the catalog and rules in force now, it reads as \(report.decision.rawValue), as this report says"
    }

    /// What every report of a route starts with, by file name: made only of its journal entry
    /// (names, decision and times), never of the evaluation, so that recovery recognises a report
    /// the route began even if the catalog changed meanwhile.
    static func heads(_ entry: JournalEntry) -> [(name: String, header: [UInt8])] {
        var json = JSONWriter()
        json.beginObject()
        json.key("file"); json.string(entry.finalName)
        for field in extras(entry) { json.key(field.key); json.string(field.value) }
        return [(entry.reportJSONName, json.bytes), (entry.reportTextName, Array(textHeader(entry).utf8))]
    }

    /// The fields the JSON report adds to `check`'s, right after `file`.
    private static func extras(_ entry: JournalEntry) -> [(key: String, value: String)] {
        [("originalName", entry.name), ("receivedAt", entry.receivedAt), ("routedAt", entry.routedAt)]
    }

    private static func textHeader(_ entry: JournalEntry) -> String {
        "received: \(entry.receivedAt) as \(entry.name)\nrouted:   \(entry.routedAt) to \(entry.decision.rawValue)/\n"
    }

    /// The name a report is staged under while recovery writes it again: a dot-name no route
    /// takes, renamed over the report once whole.
    static func stagedName(_ reportName: String) -> String { "." + reportName + ".tmp" }

    /// Does `work` for the reports of a route in `folder`. Creating never replaces a name (EEXIST
    /// when one is taken) and a failure leaves neither report behind; rewriting stages each
    /// report and renames it over what is there.
    static func write(_ work: Work, _ entry: JournalEntry, _ report: ManifestReport, in folder: HeldFolder) throws(SystemError) {
        switch work {
        case .keep: return
        case .create: try create(entry, report, in: folder, skippingExisting: false)
        case .createMissing: try create(entry, report, in: folder, skippingExisting: true)
        case .rewrite: try rewrite(entry, report, in: folder)
        }
    }

    private static func create(_ entry: JournalEntry, _ report: ManifestReport, in folder: HeldFolder, skippingExisting: Bool) throws(SystemError) {
        var created: [String] = []
        for file in files(entry, report) {
            do {
                System.close(try System.createFile(in: folder.fd, file.name, contents: file.bytes, describing: folder.path + "/" + file.name))
                created.append(file.name)
            } catch where skippingExisting && error.errno == EEXIST {
                continue
            } catch {
                // The creation's error is the one to report. A report this could not remove is
                // this route's own (it starts with its header): a replay writes it again, and a
                // route that takes another name removes it (``removeOwn(of:in:)``).
                for name in created { try? System.unlink(in: folder.fd, name, describing: folder.path + "/" + name) }
                throw error
            }
        }
    }

    /// Writes both reports again through staged names, replacing what is there (recovery, for a
    /// route whose manifest never moved: its reports, if any, are its own and may be torn).
    private static func rewrite(_ entry: JournalEntry, _ report: ManifestReport, in folder: HeldFolder) throws(SystemError) {
        for file in files(entry, report) {
            let staged = stagedName(file.name)
            // An earlier try's, or an older version's: created anew below with O_EXCL.
            try System.unlinkIfPresent(in: folder.fd, staged, describing: folder.path + "/" + staged)
            System.close(try System.createFile(in: folder.fd, staged, contents: file.bytes, describing: folder.path + "/" + staged))
            try System.rename(in: folder.fd, staged, to: folder.fd, file.name, describing: folder.path + "/" + file.name)
        }
    }

    /// Removes the reports at this route's current final name that are provably its own (a route
    /// that must take another name leaves nothing behind under the old one), and any staged copy
    /// a crash left. Throws the first failure, after trying every name.
    static func removeOwn(of entry: JournalEntry, in folder: HeldFolder) throws(SystemError) {
        var failure: SystemError?
        for head in heads(entry) {
            var names = [stagedName(head.name)]  // a dot-name only recovery writes
            if state(of: head, in: folder) == .ours { names.append(head.name) }
            for name in names {
                do {
                    try System.unlinkIfPresent(in: folder.fd, name, describing: folder.path + "/" + name)
                } catch {
                    failure = failure ?? error
                }
            }
        }
        if let failure { throw failure }
    }

    /// Whose file is at each report name of this route, in the order of ``heads(_:)``.
    static func states(of entry: JournalEntry, in folder: HeldFolder) -> [State] {
        heads(entry).map { state(of: $0, in: folder) }
    }

    private static func state(of file: (name: String, header: [UInt8]), in folder: HeldFolder) -> State {
        let path = folder.path + "/" + file.name
        let fd: Int32
        do {
            fd = try System.open(in: folder.fd, file.name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, describing: path)
        } catch {
            return error.errno == ENOENT ? .absent : .foreign
        }
        defer { System.close(fd) }
        guard let info = try? System.fileStatus(of: fd, describing: path), (info.st_mode & S_IFMT) == S_IFREG,
              let start = try? System.readAll(fd, limit: file.header.count, describing: path)
        else { return .foreign }
        let compared = min(start.count, file.header.count)
        return start[..<compared].elementsEqual(file.header[..<compared]) ? .ours : .foreign
    }
}

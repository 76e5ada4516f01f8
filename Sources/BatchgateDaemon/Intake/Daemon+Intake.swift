#if canImport(Glibc)
import Glibc
#endif
import BatchgateCore
import BatchgateSystem

/// How the daemon takes files from the inbox: inotify events and scans tell the tracker what
/// changed, and the names that are whole are queued for routing.
extension Daemon {
    func watchInbox() throws(SystemError) -> InboxWatcher {
        try InboxWatcher(path: settings.layout.inbox, queue: queue) { [unowned self] events in
            self.handle(events)
        }
    }

    // MARK: Events

    /// Tells the tracker what inotify reported, then queues what is whole (or rescans).
    func handle(_ events: [InboxWatcher.Event]) {
        let now = System.monotonicClock()
        var rescan = false
        for event in events {
            switch event {
            case .file(let name, let signal):
                guard !DropFolderNames.isIgnored(name) else { continue }
                if signal == .gone {
                    parked.remove(name)
                    heldLogged.remove(name)
                    metrics.arrivals.gone(name)
                } else {
                    metrics.arrivals.saw(name, now: now)
                }
                tracker.note(signal, name, now: now)
            case .created(let name):
                guard !DropFolderNames.isIgnored(name) else { continue }
                metrics.arrivals.saw(name, now: now)
                if let info = linkStatus(ofInboxName: name),
                   [S_IFLNK, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK].contains(info.st_mode & S_IFMT) {
                    // Never written and closed: complete as soon as it exists.
                    enqueue(name)
                } else {
                    tracker.note(.changed, name, now: now)
                }
            case .unusableName:
                rescan = true
            case .overflow:
                log.warning("the inotify queue overflowed; rescanning \(settings.layout.inbox)")
                tracker.eventsLost(now: now)
                rescan = true
            case .inboxGone:
                // Moved away (a deletion is reported only once the folder is closed, which the
                // daemon never does): the next folder check takes whatever folder has the path.
                break
            }
        }
        if rescan { scanInbox() } else { queueWholeFiles() }
    }

    /// Queues the names that are whole now, and sets the timer for the next ones.
    func queueWholeFiles() {
        let now = System.monotonicClock()
        for name in tracker.heldButQuiet(now: now) {
            // Counted as open, yet nothing happened for a quiet period: ask the kernel.
            switch router.writers(of: name) {
            case .free:
                tracker.released(name)
            case .held:
                tracker.probed(name, now: now)
            case .unknown:
                if let quiet = tracker.quietFor(name, now: now), quiet >= heldLimit {
                    tracker.released(name)
                    log.notice("\(name) counted as open for writing, but nothing happened to it for \(Int(quiet)) s and the kernel cannot say (inotify merges a writer's two closes into one): it is taken")
                } else {
                    tracker.probed(name, now: now)
                }
            }
        }
        for name in tracker.takeReady(now: now) { queueUnlessPhantom(name) }
        scheduleQuietCheck()
    }

    /// How long a file counted as held open, about which the kernel cannot say (a network
    /// filesystem, no CAP_LEASE), must be left alone before the count is taken to be wrong.
    var heldLimit: Double { max(60, 10 * settings.quietPeriod.seconds) }

    /// Queues `name` for routing, unless it is a writer's phantom: an empty file with the name of a
    /// manifest routed moments ago (see ``recentlyRouted``).
    func queueUnlessPhantom(_ name: String) {
        if parked.contains(name) || recentlyRouted.contains(name, now: System.monotonicClock()) {
            if let info = linkStatus(ofInboxName: name), (info.st_mode & S_IFMT) == S_IFREG, info.st_size == 0 {
                if parked.insert(name).inserted {
                    log.notice("\(name) in the inbox is empty and has the name of a manifest routed moments ago: its writer opened the name again after the manifest was taken (as SMB clients do to set a file's times after copying). It is left in the inbox, not routed; delete it, or write a manifest into it")
                }
                return
            }
        }
        parked.remove(name)
        enqueue(name)
    }

    /// `lstat` of a name in the inbox by path, or nil when it is gone (or cannot be looked at):
    /// then it is neither complete at once nor a phantom, and the claim's own checks decide.
    private func linkStatus(ofInboxName name: String) -> stat? {
        do {
            return try System.linkStatus(settings.layout.inbox + "/" + name)
        } catch {
            return nil
        }
    }

    /// Queues `name` for routing, once, unless the daemon is stopping.
    func enqueue(_ name: String) {
        guard !stopping, pendingSet.insert(name).inserted else { return }
        pending.append(name)
        scheduleDrain()
    }

    /// Names handed back by the router (see ``drainOnce()``) wait a quiet period again; each is
    /// logged once, at `level`.
    func waitAgain(_ names: [String], loggedIn logged: inout Set<String>, level: LogLevel, _ what: String) {
        guard !names.isEmpty else { return }
        let now = System.monotonicClock()
        for name in names { tracker.restart(name, now: now) }
        let new = names.filter { logged.insert($0).inserted }
        if !new.isEmpty { log.write([(level, "\(new.count) \(what): \(new.prefix(5).joined(separator: ", "))")]) }
    }

    // MARK: Scans

    /// Lists the inbox and tells the tracker what it saw: files that no event announced (written
    /// on another machine over NFS or SMB, present at start-up, lost in an overflow) are taken
    /// once two looks a quiet period apart saw them unchanged. What to look at is decided by
    /// ``InboxScan``, entry by entry as the listing is read.
    func scanInbox() {
        let inboxFD: Int32
        do {
            inboxFD = try System.openDirectory(settings.layout.inbox, followingLinks: false)
        } catch {
            log.error("cannot scan the inbox: \(error)")
            return
        }
        defer { System.close(inboxFD) }
        var scan = InboxScan(queued: pendingSet, queuedCount: pending.count)
        scanCut = false
        routedSinceScan = 0
        do {
            try System.forEachEntry(of: settings.layout.inbox) { entry in
                guard let name = scan.consider(name: entry.name, bytes: entry.bytes) else { return true }
                return scan.record(name, inboxEntry(name, in: inboxFD))
            }
        } catch {
            log.error("cannot scan the inbox: \(error)")
            return
        }
        scanCut = scan.isCut
        rescanAt = nil
        for bytes in scan.misnamed where !renameToUTF8(MisnamedFile(bytes), in: inboxFD) {
            rescanAt = System.monotonicClock() + settings.quietPeriod.seconds
        }
        if scan.isComplete {
            // Names no longer in the inbox may be logged again should they come back.
            renameGiveUpLogged.formIntersection(scan.misnamed)
        }
        let now = System.monotonicClock()
        for observation in scan.observations { metrics.arrivals.saw(observation.name, now: now) }
        tracker.look(scan.observations, now: now, complete: scan.isComplete)
        queueWholeFiles()
    }

    /// What a look-up of `name` in the inbox finds; a name gone meanwhile is no longer there to
    /// wait for.
    private func inboxEntry(_ name: String, in inboxFD: Int32) -> InboxScan.Entry {
        do {
            let info = try System.lstatAt(inboxFD, name, in: settings.layout.inbox + "/")
            return (info.st_mode & S_IFMT) == S_IFDIR ? .folder : .file(IntakeTracker.Stamp(FileStamp(info)))
        } catch {
            return .vanished
        }
    }

    /// Renames a file whose name is not UTF-8 (``MisnamedFile``) and logs how it went. Returns
    /// false when the file is still changing and must be looked at again.
    private func renameToUTF8(_ file: MisnamedFile, in inboxFD: Int32) -> Bool {
        switch file.rename(in: inboxFD, inboxPath: settings.layout.inbox, quietPeriod: settings.quietPeriod.seconds) {
        case .changing:
            return false
        case .left:
            return true
        case .renamed(let name):
            log.notice("renamed \(name) in the inbox: its name was not UTF-8 (each such byte is now %XX)")
            return true
        case .failed(let error):
            log.error("cannot rename the file \(file.readable), whose name is not UTF-8: \(error)")
            return true
        case .everyNameTaken:
            // The file stays as it is: said once, not at every scan.
            if renameGiveUpLogged.insert(file.bytes).inserted {
                log.error("cannot rename the file \(file.readable), whose name is not UTF-8: the inbox already holds every name tried (\(file.candidates.first!) to \(file.candidates.last!)); it stays in the inbox, not routed, until one of them is free")
            }
            return true
        }
    }
}

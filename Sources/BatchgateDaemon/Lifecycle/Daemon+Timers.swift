#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import Synchronization
import BatchgateSystem

/// The daemon's timers, all on its queue but the watchdog's.
extension Daemon {
    /// Sets the one timer that wakes the daemon when the next waiting file may be whole.
    func scheduleQuietCheck() {
        var deadline = tracker.nextDeadline()
        if let rescanAt { deadline = min(deadline ?? rescanAt, rescanAt) }
        let timer: DispatchSourceTimer
        if let quietTimer {
            timer = quietTimer
        } else {
            // Strict: without it libdispatch may fire a one-shot timer later by a share of its
            // delay (up to 100 ms here on a 2 s quiet period), which every file written in place
            // would wait on top of the quiet period.
            timer = DispatchSource.makeTimerSource(flags: .strict, queue: queue)
            timer.setEventHandler { [unowned self] in self.quietCheck() }
            timer.schedule(deadline: .distantFuture, repeating: .never)
            timer.resume()
            quietTimer = timer
        }
        guard let deadline else {
            timer.schedule(deadline: .distantFuture, repeating: .never)
            return
        }
        // A little past the deadline, so the check sees the quiet period fully passed.
        let delay = max(0, deadline - System.monotonicClock()) + 0.005
        timer.schedule(deadline: .now() + delay, repeating: .never, leeway: .milliseconds(5))
    }

    func quietCheck() {
        guard !stopping else { return }
        let now = System.monotonicClock()
        if tracker.needsLook(now: now) || rescanAt.map({ now >= $0 }) == true {
            scanInbox()
        } else {
            queueWholeFiles()
        }
    }

    /// Runs recovery once the quiet period has passed: a file that changed while it was routed
    /// waits in `processing/` for its writer to be done.
    func scheduleRecovery() {
        guard !recoveryScheduled else { return }
        recoveryScheduled = true
        let delay = recoveryDelay ?? settings.quietPeriod.seconds
        recoveryDelay = min(60, max(delay, settings.quietPeriod.seconds) * 2)
        queue.asyncAfter(deadline: .now() + delay + 0.05) { [unowned self] in
            self.recoveryScheduled = false
            guard !self.stopping else { return }
            self.recover()
        }
    }

    func recover() {
        guard checkFolders() else { return }
        let recovered = router.recover()
        record(recovered)
        if router.needsRecovery {
            scheduleRecovery()
        } else {
            recoveryDelay = nil
        }
    }

    /// How often the held folders are compared with their paths when nothing else happens: an
    /// inbox deleted and made again raises no event in the new one (and inotify reports the old
    /// one's deletion only when its last descriptor closes), so only a look at the path finds it.
    /// Two system calls per folder.
    static let folderCheckInterval = 1.0

    /// How long a held folder may be missing before the daemon stops: long enough for `mv accepted
    /// accepted-2026-11; mkdir accepted` typed or scripted, short enough for systemd to put things
    /// right soon.
    static let folderGrace = 3.0

    func scheduleFolderChecks() {
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let interval = DispatchTimeInterval.milliseconds(Int(Self.folderCheckInterval * 1000))
        timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(250))
        timer.setEventHandler { [unowned self] in
            guard !self.stopping else { return }
            _ = self.checkFolders()
        }
        timer.resume()
        folderTimer = timer
    }

    func scheduleRescans() {
        rescanTimer?.cancel()
        rescanTimer = nil
        guard settings.rescanInterval > .zero else { return }
        let timer = DispatchSource.makeTimerSource(queue: queue)
        let interval = DispatchTimeInterval.milliseconds(Int(settings.rescanInterval.seconds * 1000))
        timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .milliseconds(500))
        timer.setEventHandler { [unowned self] in
            guard !self.stopping else { return }
            // Claimed files a failed batch left behind are retried too.
            self.recover()
            guard !self.stopping else { return }
            self.recentlyRouted.prune(now: System.monotonicClock())
            self.scanInbox()
        }
        timer.resume()
        rescanTimer = timer
    }

    /// Sends `WATCHDOG=1` only while the daemon gets on: its queue runs the heartbeat blocks the
    /// watchdog sends through it, or the router advances within a long batch (each file read and
    /// evaluated counts). A router stuck on one file, or a queue stuck anywhere, stops the pings,
    /// and systemd restarts the service; recovery then sets that file aside.
    func scheduleWatchdog() {
        guard let interval = notifier.watchdogInterval else { return }
        let timer = DispatchSource.makeTimerSource(queue: DispatchQueue(label: "batchgate.watchdog"))
        // Half the notify interval: a short stall never costs a ping, a long one always does.
        let period = DispatchTimeInterval.milliseconds(max(1, Int(interval * 500)))
        let progress = router.progress
        let heartbeat = heartbeat
        let notifier = notifier
        let queue = queue
        let gate = Mutex(WatchdogGate())
        timer.schedule(deadline: .now(), repeating: period, leeway: .milliseconds(100))
        timer.setEventHandler {
            let beat = heartbeat.current, done = progress.current
            if gate.withLock({ $0.shouldPing(heartbeat: beat, progress: done) }) { notifier.notify("WATCHDOG=1") }
            queue.async { heartbeat.advance() }
        }
        timer.resume()
        watchdogTimer = timer
    }
}

/// Whether the watchdog may say the daemon is well: only when, since its last look, the daemon's
/// queue ran a heartbeat block (it is free) or the router advanced (it works through a long batch).
/// Pure, so the rule is tested without a clock.
struct WatchdogGate: Sendable {
    var seen: (heartbeat: Int, progress: Int)?

    mutating func shouldPing(heartbeat: Int, progress: Int) -> Bool {
        defer { seen = (heartbeat, progress) }
        guard let seen else { return true }
        return heartbeat != seen.heartbeat || progress != seen.progress
    }
}

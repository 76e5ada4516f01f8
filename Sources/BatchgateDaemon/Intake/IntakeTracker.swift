/// Decides when a file in the inbox is whole, so that it may be claimed. Pure: the daemon tells it
/// what inotify reported and what scans saw, with the monotonic time, and asks which names are
/// ready; tests drive the time.
///
/// Why a close is not enough: real writers open a file more than once. A shell `>>` loop, a
/// logger that opens per row and some scanner firmware close the file after every row, and an SMB
/// client reopens it to set its times after copying. So a file written in place is ready only
/// once nothing happened to it for the quiet period and no process that the watcher saw open it
/// still holds it. A file moved into the inbox is whole when it arrives (the writer contract:
/// write elsewhere, then rename in) and is ready at once, unless someone holds it open.
///
/// Files that only scans see (NFS or SMB clients writing on another machine, files present at
/// start-up, names lost in an inotify overflow) are ready once two looks at least the quiet
/// period apart saw the same size, modification time and change time.
struct IntakeTracker: Sendable {
    /// What inotify said about one name.
    enum Signal: Sendable, Equatable {
        /// Opened (`IN_OPEN`), for reading or writing: inotify does not say which.
        case opened
        /// Closed; `wrote` when it had been open for writing (`IN_CLOSE_WRITE`).
        case closed(wrote: Bool)
        /// Created, written or its attributes changed (`IN_CREATE`, `IN_MODIFY`, `IN_ATTRIB`).
        case changed
        /// Moved in from elsewhere (`IN_MOVED_TO`): whole, by the writer contract.
        case movedIn
        /// Deleted or moved out (`IN_DELETE`, `IN_MOVED_FROM`).
        case gone
    }

    /// What a scan saw of one file.
    struct Observation: Sendable, Equatable {
        var name: String
        var size: Int64
        /// Modification and change times, in nanoseconds since 1970.
        var modified: Int64
        var changed: Int64

        init(name: String, size: Int64, modified: Int64, changed: Int64) {
            self.name = name
            self.size = size
            self.modified = modified
            self.changed = changed
        }

        var stamp: Stamp { Stamp(size: size, modified: modified, changed: changed) }
    }

    struct Stamp: Sendable, Equatable {
        var size: Int64
        var modified: Int64
        var changed: Int64
    }

    /// What is known of one name.
    struct File: Sendable {
        /// Opens seen and not closed yet (never below zero: a writer that opened the file before
        /// the watch began shows only its close).
        var openers = 0
        /// When the last change was seen (monotonic seconds).
        var quietSince: Double
        /// Whether inotify reported it: then inotify's word on changes is taken; otherwise a
        /// second look by a scan must confirm that nothing changed.
        var announced = false
        /// Moved in whole.
        var movedIn = false
        /// The last scan's stamp, and when a scan last found it unchanged.
        var stamp: Stamp?
        var confirmedAt: Double?
        /// When the caller last asked the kernel whether a file counted as held really is.
        var probedAt: Double?
    }

    private(set) var quietPeriod: Double
    private(set) var files: [String: File] = [:]

    init(quietPeriod: Double) {
        self.quietPeriod = quietPeriod
    }

    /// True while some name is waiting.
    var isWaiting: Bool { !files.isEmpty }

    /// Whether a name is being followed.
    func isTracking(_ name: String) -> Bool { files[name] != nil }

    /// Records what inotify said about `name` at `now`.
    mutating func note(_ signal: Signal, _ name: String, now: Double) {
        switch signal {
        case .gone:
            files[name] = nil
        case .opened:
            // An open alone changes nothing, so it does not restart the wait; but the file is
            // not whole while it is held (its close restarts the wait if it wrote).
            files[name, default: File(quietSince: now)].openers += 1
        case .closed(let wrote):
            guard var file = files[name] else {
                // Closed without an open seen: a writer from before the watch (or a reader).
                if wrote { files[name] = File(quietSince: now, announced: true) }
                return
            }
            file.openers = max(0, file.openers - 1)
            files[name] = file
            if wrote { changed(name, now: now, movedIn: false) }
        case .changed:
            changed(name, now: now, movedIn: false)
        case .movedIn:
            changed(name, now: now, movedIn: true)
        }
    }

    /// inotify saw `name` change at `now` (written, closed after writing, its times set, or moved
    /// in whole): its wait starts again, and inotify's word on it is taken from now on.
    private mutating func changed(_ name: String, now: Double, movedIn: Bool) {
        var file = files[name] ?? File(quietSince: now)
        file.quietSince = now
        file.announced = true
        file.movedIn = movedIn
        files[name] = file
    }

    /// Records what a scan made at `now` saw. A file whose size or times differ from the last look
    /// starts its wait again. `complete` says the scan listed the whole inbox: names it did not
    /// see are gone and forgotten (a scan cut at its limit forgets nothing).
    mutating func look(_ observations: [Observation], now: Double, complete: Bool) {
        var seen = Set<String>()
        if complete { seen.reserveCapacity(observations.count) }
        for observation in observations {
            if complete { seen.insert(observation.name) }
            var file = files[observation.name] ?? File(quietSince: now)
            if file.stamp == observation.stamp {
                file.confirmedAt = now
            } else {
                if file.stamp != nil { file.quietSince = now; file.movedIn = false }  // changed behind inotify's back
                file.stamp = observation.stamp
                file.confirmedAt = now
            }
            files[observation.name] = file
        }
        if complete {
            for name in files.keys where !seen.contains(name) && !files[name]!.announced { files[name] = nil }
        }
    }

    /// Starts the wait of `name` again from `now`: it was found held open, or changing.
    mutating func restart(_ name: String, now: Double) {
        var file = files[name] ?? File(quietSince: now)
        file.quietSince = now
        file.movedIn = false
        files[name] = file
    }

    /// The names ready at `now`, in name order; they are no longer followed (the caller claims
    /// them, and calls ``restart(_:now:)`` for one that turns out not to be whole yet).
    mutating func takeReady(now: Double) -> [String] {
        var ready: [String] = []
        for (name, file) in files where isReady(file, now: now) { ready.append(name) }
        for name in ready { files[name] = nil }
        return ready.sorted()
    }

    private func isReady(_ file: File, now: Double) -> Bool {
        guard file.openers == 0 else { return false }
        if file.movedIn { return true }
        guard now - file.quietSince >= quietPeriod else { return false }
        if file.announced { return true }
        // Seen by scans only: a look made a quiet period after the change must have confirmed it.
        guard let confirmedAt = file.confirmedAt else { return false }
        return confirmedAt - file.quietSince >= quietPeriod
    }

    /// Files counted as held open that have been quiet for the quiet period, and not asked about
    /// within it: the count may be wrong. inotify merges two identical events in a row, so a
    /// writer with two descriptors (or two writers) closing at once shows one close, and a reader
    /// (`tail -f`, a backup agent) counts as an opener too. The caller asks the kernel (a lease)
    /// and reports with ``released(_:)`` or ``probed(_:now:)``.
    func heldButQuiet(now: Double) -> [String] {
        files.compactMap { name, file in
            file.openers > 0 && now - file.quietSince >= quietPeriod && (file.probedAt.map { now - $0 >= quietPeriod } ?? true)
                ? name : nil
        }.sorted()
    }

    /// No process holds `name` open for writing, whatever the opens counted say.
    mutating func released(_ name: String) {
        files[name]?.openers = 0
    }

    /// Asked about at `now`, and still held (or the kernel could not tell).
    mutating func probed(_ name: String, now: Double) {
        files[name]?.probedAt = now
    }

    /// How long `name` has been left alone, in seconds; nil when it is not followed.
    func quietFor(_ name: String, now: Double) -> Double? {
        files[name].map { now - $0.quietSince }
    }

    /// Whether a scan is needed before ``takeReady(now:)`` can say more: some file that only
    /// scans see has waited the quiet period and wants its second look.
    func needsLook(now: Double) -> Bool {
        files.values.contains { file in
            !file.announced && file.openers == 0 && now - file.quietSince >= quietPeriod
                && (file.confirmedAt.map { $0 - file.quietSince < quietPeriod } ?? true)
        }
    }

    /// The earliest time something may become ready, or a file counted as held should be asked
    /// about, without a new inotify event; nil when nothing waits.
    func nextDeadline() -> Double? {
        var earliest: Double?
        for file in files.values {
            let due: Double
            if file.openers > 0 {
                // Held: its close will tell, but a count that is wrong must not hold it for ever.
                due = max(file.quietSince, file.probedAt ?? -.infinity) + quietPeriod
            } else {
                due = file.movedIn ? file.quietSince : file.quietSince + quietPeriod
            }
            earliest = min(earliest ?? due, due)
        }
        return earliest
    }

    /// Events were lost (an inotify overflow): the opens and closes counted may be wrong, so every
    /// file waits a quiet period again and is then judged by scans and the claim's own checks.
    mutating func eventsLost(now: Double) {
        for name in files.keys {
            files[name]!.openers = 0
            files[name]!.quietSince = now
            files[name]!.announced = false
            files[name]!.movedIn = false
        }
    }

    /// A new quiet period (after a reload); what is waiting keeps waiting.
    mutating func setQuietPeriod(_ seconds: Double) {
        quietPeriod = seconds
    }
}

/// Names seen lately, each for `window` seconds (monotonic), oldest first out: a bounded memory of
/// what was routed, so that its size follows the rate of manifests, never their total.
struct RecentNames: Sendable {
    let window: Double
    private var times: [String: Double] = [:]
    private var order: [(name: String, at: Double)] = []
    private var head = 0

    init(window: Double) {
        self.window = window
    }

    mutating func insert(_ name: String, now: Double) {
        prune(now: now)
        times[name] = now
        order.append((name, now))
    }

    func contains(_ name: String, now: Double) -> Bool {
        times[name].map { now - $0 < window } ?? false
    }

    /// Forgets what is older than the window.
    mutating func prune(now: Double) {
        while head < order.count, now - order[head].at >= window {
            let old = order[head]
            if times[old.name] == old.at { times[old.name] = nil }
            head += 1
        }
        if head >= 64 && head * 2 > order.count {
            order.removeFirst(head)
            head = 0
        }
    }
}

import Testing
@testable import BatchgateDaemon

/// When a file in the inbox counts as whole: the tests drive the time, nothing sleeps.
@Suite struct IntakeTrackerTests {
    /// A shell `>>` loop: each row opens, writes and closes the file 250 ms after the last.
    @Test func aWriterThatClosesAfterEveryRowIsTakenOnceItHasBeenQuiet() {
        var tracker = IntakeTracker(quietPeriod: 1)
        var now = 0.0
        for _ in 0..<21 {
            tracker.note(.opened, "rows.csv", now: now)
            tracker.note(.changed, "rows.csv", now: now)
            tracker.note(.closed(wrote: true), "rows.csv", now: now)
            #expect(tracker.takeReady(now: now) == [], "never taken between two rows")
            now += 0.25
            #expect(tracker.takeReady(now: now) == [])
        }
        #expect(tracker.nextDeadline() == 5.0 + 1)
        #expect(tracker.takeReady(now: 5.9) == [])
        #expect(tracker.takeReady(now: 6.0) == ["rows.csv"])
        #expect(!tracker.isWaiting, "a name taken is no longer followed")
    }

    /// A scanner that pauses mid-file with the file open: however long the pause, it is not whole.
    @Test func aFileHeldOpenIsNeverTaken() {
        var tracker = IntakeTracker(quietPeriod: 1)
        tracker.note(.opened, "slow.csv", now: 0)
        tracker.note(.changed, "slow.csv", now: 0.1)
        #expect(tracker.takeReady(now: 60) == [])
        #expect(tracker.heldButQuiet(now: 60) == ["slow.csv"], "asked about (a lease) once quiet, never taken")
        // A scan meanwhile sees it unchanged for a minute: still held.
        tracker.look([.init(name: "slow.csv", size: 10, modified: 1, changed: 1)], now: 30, complete: true)
        tracker.look([.init(name: "slow.csv", size: 10, modified: 1, changed: 1)], now: 60, complete: true)
        #expect(tracker.takeReady(now: 61) == [])
        tracker.note(.closed(wrote: true), "slow.csv", now: 62)
        #expect(tracker.takeReady(now: 62.5) == [])
        #expect(tracker.takeReady(now: 63) == ["slow.csv"])
    }

    /// Readers (an antivirus, the daemon's own lease check) open and close without writing: that
    /// neither holds the file for ever nor restarts its wait.
    @Test func readersNeitherHoldNorRestartTheWait() {
        var tracker = IntakeTracker(quietPeriod: 1)
        tracker.note(.closed(wrote: true), "a.json", now: 0)
        tracker.note(.opened, "a.json", now: 0.5)
        tracker.note(.closed(wrote: false), "a.json", now: 0.6)
        #expect(tracker.takeReady(now: 1) == ["a.json"])
        // A close without an open seen (a writer from before the watch) never goes below zero.
        tracker.note(.closed(wrote: true), "b.json", now: 2)
        tracker.note(.closed(wrote: false), "b.json", now: 2)
        tracker.note(.opened, "b.json", now: 2.1)
        #expect(tracker.takeReady(now: 5) == [], "one open seen, not closed yet")
    }

    /// inotify merges two identical events in a row: a writer with two descriptors that closes
    /// both at once shows two opens and one close. The count is then asked about (a lease), never
    /// trusted for ever.
    @Test func aMergedCloseLeavesTheFileToBeAskedAbout() {
        var tracker = IntakeTracker(quietPeriod: 1)
        tracker.note(.opened, "two.csv", now: 0)
        tracker.note(.changed, "two.csv", now: 0)
        tracker.note(.opened, "two.csv", now: 0)
        tracker.note(.changed, "two.csv", now: 0)
        tracker.note(.closed(wrote: true), "two.csv", now: 0.1)
        #expect(tracker.takeReady(now: 5) == [], "one opener still counted")
        #expect(tracker.heldButQuiet(now: 0.5) == [], "not before a quiet period")
        #expect(tracker.nextDeadline() == 1.1, "a timer comes back to ask")
        #expect(tracker.heldButQuiet(now: 1.1) == ["two.csv"])
        tracker.probed("two.csv", now: 1.1)  // the kernel said held, or could not say
        #expect(tracker.heldButQuiet(now: 1.5) == [], "asked again only a quiet period later")
        #expect(tracker.nextDeadline() == 2.1)
        tracker.released("two.csv")  // the kernel said no writer
        #expect(tracker.takeReady(now: 2.1) == ["two.csv"])
        #expect(tracker.quietFor("two.csv", now: 3) == nil)
    }

    @Test func aFileMovedInIsWholeAtOnceUnlessHeld() {
        var tracker = IntakeTracker(quietPeriod: 2)
        tracker.note(.movedIn, "a.json", now: 0)
        #expect(tracker.takeReady(now: 0) == ["a.json"])
        tracker.note(.movedIn, "b.json", now: 1)
        tracker.note(.opened, "b.json", now: 1)
        #expect(tracker.takeReady(now: 1) == [])
        tracker.note(.closed(wrote: true), "b.json", now: 1.5)
        #expect(tracker.takeReady(now: 2) == [], "written after the move: it waits like any other write")
        #expect(tracker.takeReady(now: 3.5) == ["b.json"])
    }

    /// NFS or SMB clients on another machine: inotify says nothing, scans must see the same size
    /// and times twice, a quiet period apart (attribute caching can fake a shorter pause).
    @Test func aFileOnlyScansSeeNeedsTwoLooksAQuietPeriodApart() {
        var tracker = IntakeTracker(quietPeriod: 2)
        let first = IntakeTracker.Observation(name: "a.csv", size: 10, modified: 1, changed: 1)
        tracker.look([first], now: 0, complete: true)
        #expect(tracker.takeReady(now: 5) == [], "no second look yet, however long")
        #expect(tracker.needsLook(now: 5))
        #expect(!tracker.needsLook(now: 1))
        let grown = IntakeTracker.Observation(name: "a.csv", size: 20, modified: 2, changed: 2)
        tracker.look([grown], now: 5, complete: true)
        #expect(tracker.takeReady(now: 5) == [], "a change starts the wait again")
        tracker.look([grown], now: 6, complete: true)
        #expect(tracker.takeReady(now: 7.5) == [], "the second look came too early")
        tracker.look([grown], now: 7, complete: true)
        #expect(tracker.takeReady(now: 7) == ["a.csv"])
        // Only the change time moved (a rename in, a chmod): that is a change too.
        let renamed = IntakeTracker.Observation(name: "b.csv", size: 20, modified: 2, changed: 9)
        tracker.look([.init(name: "b.csv", size: 20, modified: 2, changed: 2)], now: 10, complete: true)
        tracker.look([renamed], now: 12, complete: true)
        #expect(tracker.takeReady(now: 12) == [])
        tracker.look([], now: 13, complete: true)
        #expect(!tracker.isWaiting, "a file no complete scan sees is forgotten")
    }

    @Test func aScanCutAtItsLimitForgetsNothing() {
        var tracker = IntakeTracker(quietPeriod: 1)
        tracker.look([.init(name: "a", size: 1, modified: 1, changed: 1)], now: 0, complete: true)
        tracker.look([], now: 0.5, complete: false)
        #expect(tracker.isTracking("a"))
    }

    @Test func gonePhantomsAndLostEvents() {
        var tracker = IntakeTracker(quietPeriod: 1)
        tracker.note(.opened, "a.json", now: 0)
        tracker.note(.gone, "a.json", now: 0.1)
        #expect(!tracker.isWaiting)
        // After an overflow the counted opens may be wrong: nothing is held, and every file waits
        // again to be confirmed by scans.
        tracker.note(.opened, "b.json", now: 1)
        tracker.eventsLost(now: 2)
        #expect(tracker.takeReady(now: 10) == [])
        #expect(tracker.needsLook(now: 3))
        tracker.look([.init(name: "b.json", size: 5, modified: 1, changed: 1)], now: 3, complete: true)
        tracker.look([.init(name: "b.json", size: 5, modified: 1, changed: 1)], now: 4, complete: true)
        #expect(tracker.takeReady(now: 4) == ["b.json"])
    }

    @Test func restartMakesAHeldFileWaitAgain() {
        var tracker = IntakeTracker(quietPeriod: 1)
        tracker.note(.movedIn, "a.json", now: 0)
        #expect(tracker.takeReady(now: 0) == ["a.json"])
        tracker.restart("a.json", now: 0)
        #expect(tracker.takeReady(now: 0.5) == [])
        #expect(tracker.nextDeadline() == 1)
    }

    @Test func recentNamesForgetAfterTheirWindow() {
        var recent = RecentNames(window: 60)
        recent.insert("a.json", now: 0)
        recent.insert("b.json", now: 30)
        #expect(recent.contains("a.json", now: 59))
        #expect(!recent.contains("a.json", now: 60))
        recent.prune(now: 61)
        #expect(recent.contains("b.json", now: 61))
        recent.insert("a.json", now: 70)
        recent.prune(now: 95)
        #expect(recent.contains("a.json", now: 95), "routed again: the newer time counts")
    }

    @Test func theWatchdogPingsOnlyWhileTheDaemonGetsOn() {
        var gate = WatchdogGate()
        var pings: [Bool] = []
        for (heartbeat, progress) in [(0, 0), (1, 0), (1, 5), (1, 5), (1, 5), (2, 5)] {
            pings.append(gate.shouldPing(heartbeat: heartbeat, progress: progress))
        }
        // The first look; the queue ran the heartbeat (free); busy in a batch but files go
        // through; stuck twice (neither moved); free again.
        #expect(pings == [true, true, true, false, false, true])
    }
}

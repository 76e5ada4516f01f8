#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import BatchgateSystem

/// Signals are taken by `sigwait` on the main thread, never by handlers: see
/// ``Daemon/blockHandledSignals()`` for why.
extension Daemon {
    /// The signals the daemon acts on: SIGTERM and SIGINT stop it, SIGHUP reloads the config and
    /// catalog (and reopens the audit log), SIGUSR1 only reopens the audit log (logrotate),
    /// SIGUSR2 looks at `outbox/` again (`batchgate alert retry`).
    static let handledSignals = [SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGUSR2]

    /// Blocks the ``handledSignals`` in the calling thread and every thread it creates from then
    /// on, so that they stay pending until ``waitForSignals()`` takes them (SIGUSR1 and SIGUSR2
    /// would otherwise end the process). Call it first thing in `main`, before any thread exists.
    ///
    /// Why not Dispatch signal sources: on Linux they read a signalfd while the signal's
    /// disposition is SIG_IGN, and `dispatchMain()` parks the main thread in `sigsuspend` with
    /// every signal unblocked; a SIGTERM delivered to that thread was dropped (24 times in 200
    /// starts measured here), and the daemon went on running.
    public static func blockHandledSignals() {
        System.blockSignals(handledSignals)
    }

    /// Takes the ``handledSignals`` with `sigwait` on the calling thread (the main thread, after
    /// ``start()``), forever, and handles each on the daemon's queue: between batches, so SIGTERM
    /// always finishes the manifests in hand. A signal that came during start-up waits, blocked,
    /// until then.
    public func waitForSignals() -> Never {
        Self.blockHandledSignals()
        while true {
            let received = System.waitForSignal(among: Self.handledSignals)
            queue.async { [self] in
                switch received {
                case SIGHUP: reload()
                case SIGUSR1: reopenAuditLog()
                case SIGUSR2: rescanOutbox()
                default: stop()
                }
            }
        }
    }

    /// SIGUSR1, what logrotate sends after renaming `audit.jsonl`: opens the file at its path
    /// again, and nothing else (no config or catalog read, no `RELOADING=1`).
    func reopenAuditLog() {
        guard let audit, !stopping else { return }
        do {
            try audit.reopen()
            log.notice("reopened the audit log \(audit.path) (SIGUSR1)")
        } catch {
            log.error("cannot reopen the audit log \(audit.path) on SIGUSR1: \(error); the lines go on into the file open until now")
        }
    }

    /// SIGUSR2, which `batchgate alert retry` sends after moving dead letters back: hands what
    /// waits in `outbox/` to the senders, and counts the dead letters again.
    func rescanOutbox() {
        guard let alerts, !stopping else { return }
        alerts.rescan()
        sendStatus()
    }

    /// Ignores the two signals whose default would end the daemon in the middle of its work:
    /// SIGPIPE, raised by a write to a connection the other end closed (an alert sink), and
    /// SIGIO: a lease taken to see whether a writer holds a file
    /// (``System/openAskingWriters(in:_:)``) is broken by a writer opening it in that instant, and
    /// the kernel then sends SIGIO.
    static func ignoreSignalsThatWouldEndTheProcess() {
        System.ignoreSignal(SIGPIPE)
        System.ignoreSignal(SIGIO)
    }
}

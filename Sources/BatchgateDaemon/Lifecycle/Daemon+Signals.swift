#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import BatchgateSystem

/// Signals are taken by `sigwait` on the main thread, never by handlers: see
/// ``Daemon/blockHandledSignals()`` for why.
extension Daemon {
    /// The signals the daemon acts on: SIGTERM and SIGINT stop it, SIGHUP reloads.
    static let handledSignals = [SIGTERM, SIGINT, SIGHUP]

    /// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread and every thread it creates from
    /// then on, so that they stay pending until ``waitForSignals()`` takes them. Call it first
    /// thing in `main`, before any thread exists.
    ///
    /// Why not Dispatch signal sources: on Linux they read a signalfd while the signal's
    /// disposition is SIG_IGN, and `dispatchMain()` parks the main thread in `sigsuspend` with
    /// every signal unblocked; a SIGTERM delivered to that thread was dropped (24 times in 200
    /// starts measured here), and the daemon went on running.
    public static func blockHandledSignals() {
        System.blockSignals(handledSignals)
    }

    /// Takes SIGTERM, SIGINT and SIGHUP with `sigwait` on the calling thread (the main thread,
    /// after ``start()``), forever, and handles each on the daemon's queue: between batches, so
    /// SIGTERM always finishes the manifests in hand. A signal that came during start-up waits,
    /// blocked, until then.
    public func waitForSignals() -> Never {
        Self.blockHandledSignals()
        while true {
            let received = System.waitForSignal(among: Self.handledSignals)
            queue.async { [self] in
                if received == SIGHUP { reload() } else { stop() }
            }
        }
    }

    /// Ignores the two signals whose default would end the daemon in the middle of its work:
    /// SIGPIPE, raised by a write to a connection the other end closed (an alert sink), and
    /// SIGIO: a lease taken to see whether a writer holds a file (``System/writers(in:_:)``) is
    /// broken by a writer opening it in that instant, and the kernel then sends SIGIO.
    static func ignoreSignalsThatWouldEndTheProcess() {
        System.ignoreSignal(SIGPIPE)
        System.ignoreSignal(SIGIO)
    }
}

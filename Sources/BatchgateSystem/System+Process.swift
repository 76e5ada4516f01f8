#if canImport(Glibc)
import Glibc
#endif
import CSystem

/// The calls the daemon makes on its own process: signals, the monotonic clock in the unit
/// systemd wants, the datagram to systemd, memory handed back.
extension System {
    /// The set of these signals. `sigemptyset` and `sigaddset` fail only on a number that is not a
    /// signal, which no caller passes: a failure is a bug, so it stops the process.
    private static func signalSet(_ numbers: [Int32]) -> sigset_t {
        var set = sigset_t()
        precondition(sigemptyset(&set) == 0, "sigemptyset failed")
        for number in numbers { precondition(sigaddset(&set, number) == 0, "sigaddset \(number) failed") }
        return set
    }

    /// Blocks these signals in the calling thread and every thread it creates from then on, so
    /// that they stay pending until ``waitForSignal(among:)`` takes them. `pthread_sigmask` fails
    /// only on an invalid `how`, which this never passes.
    public static func blockSignals(_ numbers: [Int32]) {
        var set = signalSet(numbers)
        let result = pthread_sigmask(SIG_BLOCK, &set, nil)
        precondition(result == 0, "pthread_sigmask: errno \(result)")
    }

    /// Waits for one of these signals (blocked beforehand) and returns its number. `sigwait`
    /// fails only on an invalid set; EINTR is retried.
    public static func waitForSignal(among numbers: [Int32]) -> Int32 {
        var set = signalSet(numbers)
        while true {
            var number: Int32 = 0
            let result = sigwait(&set, &number)
            if result == 0 { return number }
            precondition(result == EINTR, "sigwait: errno \(result)")
        }
    }

    /// Sets a signal's disposition to ignore it. `sigaction` fails only for a number that is not a
    /// signal or for SIGKILL and SIGSTOP, which no caller passes.
    public static func ignoreSignal(_ number: Int32) {
        var action = sigaction()
        action.__sigaction_handler.sa_handler = SIG_IGN
        precondition(sigemptyset(&action.sa_mask) == 0, "sigemptyset failed")
        precondition(sigaction(number, &action, nil) == 0, "sigaction \(number): errno \(errno)")
    }

    /// `CLOCK_MONOTONIC` in whole microseconds (systemd's `MONOTONIC_USEC=`).
    public static func monotonicMicroseconds() -> Int {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return Int(now.tv_sec) * 1_000_000 + Int(now.tv_nsec) / 1000
    }

    /// Ends the process with `status`, flushing stdio and running `atexit` handlers (`exit(3)`).
    public static func exit(_ status: Int32) -> Never {
        Glibc.exit(status)
    }

    /// This process's id.
    public static func processID() -> Int32 { getpid() }

    /// `malloc_trim(0)`: gives the free memory of every malloc arena back to the system. True
    /// when some was given back; nothing to give back is not a failure.
    @discardableResult
    public static func releaseFreedMemory() -> Bool {
        batchgate_malloc_trim() == 1
    }

    /// Sends one datagram to the Unix socket at `address` (the raw `sun_path` bytes, a leading
    /// NUL for the abstract namespace) and returns how many bytes went. Throws EINVAL when the
    /// address does not fit in `sun_path`.
    public static func sendDatagram(_ payload: [UInt8], toUnixSocket address: [UInt8], describing path: String) throws(SystemError) -> Int {
        var socketAddress = sockaddr_un()
        socketAddress.sun_family = sa_family_t(AF_UNIX)
        let capacity = MemoryLayout.size(ofValue: socketAddress.sun_path)
        guard address.count <= capacity else { throw SystemError("send", path, errno: EINVAL) }
        withUnsafeMutableBytes(of: &socketAddress.sun_path) { raw in
            raw.copyBytes(from: address)
        }
        let length = socklen_t(MemoryLayout<sa_family_t>.size + address.count)
        let fd = try retrying("socket", path) { socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0) }
        defer { close(fd) }
        return try retrying("send", path) {
            withUnsafePointer(to: &socketAddress) { pointer in
                pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { socketAddress in
                    payload.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), socketAddress, length) }
                }
            }
        }
    }

    /// The UTC calendar parts of a time in seconds since 1970 (`gmtime_r`); nil when the year
    /// does not fit in the calendar's field.
    public static func utcCalendar(_ seconds: time_t) -> tm? {
        var time = seconds
        var parts = tm()
        guard gmtime_r(&time, &parts) != nil else { return nil }
        return parts
    }
}

extension System {
    /// The variable systemd sets when a service's standard output or error is connected to the
    /// journal: that stream's `device:inode`, in decimal (systemd.exec(5)).
    static let journalStreamVariable = "JOURNAL_STREAM"

    /// Whether `fd` is the journal's stream: `JOURNAL_STREAM` is set in `environment` and names
    /// the device and inode `fd` is open on, as sd_journal_stream_fd(3) says a program should
    /// check. The variable alone is not enough: a child of a service inherits it, and a command
    /// run from a shell there (`systemd-run --shell`, an ExecStartPre= script's terminal) writes to
    /// another file, where a `<N>` priority prefix is noise, not a priority.
    public static func writesToJournal(_ fd: Int32, environment: [String: String]) -> Bool {
        guard let value = environment[journalStreamVariable] else { return false }
        let fields = value.split(separator: ":", omittingEmptySubsequences: false)
        guard fields.count == 2, let device = UInt64(fields[0]), let inode = UInt64(fields[1]) else { return false }
        guard fd >= 0, let info = try? fileStatus(of: fd, describing: "descriptor \(fd)") else { return false }
        return UInt64(info.st_dev) == device && UInt64(info.st_ino) == inode
    }
}

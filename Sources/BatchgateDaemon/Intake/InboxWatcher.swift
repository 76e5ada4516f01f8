#if canImport(Glibc)
import Glibc
#endif
import Dispatch
import BatchgateSystem

/// Watches the inbox through inotify, read on a Dispatch read source, and reports what happens to
/// each name: opens, closes, writes and attribute changes (so that a file is claimed only once it
/// is whole, see ``IntakeTracker``), moves in and out, deletions, creations (links and FIFOs are
/// complete as soon as they exist) and an overflowed event queue, so the caller can rescan.
final class InboxWatcher: @unchecked Sendable {
    /// What the kernel said about the inbox.
    enum Event: Sendable, Equatable {
        /// Something happened to a file (not a folder) of this name.
        case file(String, IntakeTracker.Signal)
        /// Something was created; a regular file is still being written (its close comes later),
        /// but a symbolic link, FIFO or socket is complete as soon as it exists.
        case created(String)
        /// A file arrived whose name is not UTF-8: a scan renames it so it can be routed.
        case unusableName
        /// Events were lost (`IN_Q_OVERFLOW`): rescan the folder.
        case overflow
        /// The inbox itself was deleted or moved away.
        case inboxGone
    }

    /// What the watch asks the kernel for.
    static let mask = UInt32(IN_OPEN | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE | IN_MODIFY | IN_ATTRIB | IN_MOVED_TO | IN_MOVED_FROM
        | IN_CREATE | IN_DELETE | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR)

    private let fd: Int32
    private let path: String
    private let source: DispatchSourceRead
    private var buffer = [UInt8](repeating: 0, count: 1 << 16)

    /// Starts watching `path`; `handler` runs on `queue` with the events of each read.
    init(path: String, queue: DispatchQueue, handler: @escaping @Sendable ([Event]) -> Void) throws(SystemError) {
        self.path = path
        let descriptor = try System.retrying("inotify_init1", path) { inotify_init1(Int32(IN_NONBLOCK | IN_CLOEXEC)) }
        do {
            try System.retrying("inotify_add_watch", path) { inotify_add_watch(descriptor, path, Self.mask | UInt32(IN_DONT_FOLLOW)) }
        } catch {
            System.close(descriptor)
            throw error
        }
        fd = descriptor
        source = DispatchSource.makeReadSource(fileDescriptor: descriptor, queue: queue)
        source.setEventHandler { [unowned self] in
            let events = self.drain()
            if !events.isEmpty { handler(events) }
        }
        source.setCancelHandler { System.close(descriptor) }
        source.resume()
    }

    /// Stops watching and closes the inotify descriptor.
    func cancel() {
        source.cancel()
    }

    /// Reads every pending event (the descriptor is non-blocking).
    private func drain() -> [Event] {
        var events: [Event] = []
        while true {
            let count: Int?
            do {
                count = try System.readAvailable(fd, into: &buffer, describing: path)
            } catch {
                // inotify's descriptor fails a read only when it is being closed (the watch is
                // cancelled): there is nothing more to report.
                return events
            }
            guard let count, count > 0 else { return events }
            events += Self.parse(buffer[..<count])
        }
    }

    /// Splits a read of `struct inotify_event`s: a 16-byte header (wd, mask, cookie, len) then
    /// `len` bytes of NUL-padded name.
    static func parse(_ bytes: ArraySlice<UInt8>) -> [Event] {
        var events: [Event] = []
        var offset = bytes.startIndex
        let header = 16
        while offset + header <= bytes.endIndex {
            func word(_ at: Int) -> UInt32 {
                UInt32(bytes[at]) | UInt32(bytes[at + 1]) << 8 | UInt32(bytes[at + 2]) << 16 | UInt32(bytes[at + 3]) << 24
            }
            let mask = word(offset + 4)
            let length = Int(word(offset + 12))
            let nameBytes = bytes[(offset + header)..<min(offset + header + length, bytes.endIndex)].prefix { $0 != 0 }
            offset += header + length
            if mask & UInt32(IN_Q_OVERFLOW) != 0 {
                events.append(.overflow)
            } else if mask & UInt32(IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED) != 0 {
                events.append(.inboxGone)
            } else if mask & UInt32(IN_ISDIR) == 0, !nameBytes.isEmpty {
                guard let name = String(validating: nameBytes, as: UTF8.self) else {
                    // Only a file that is complete says something: a scan renames it.
                    if mask & UInt32(IN_CLOSE_WRITE | IN_MOVED_TO) != 0 { events.append(.unusableName) }
                    continue
                }
                if let signal = signal(mask) {
                    events.append(.file(name, signal))
                } else if mask & UInt32(IN_CREATE) != 0 {
                    events.append(.created(name))
                }
            }
        }
        return events
    }

    /// The signal of one event's mask (each event carries one of these bits).
    private static func signal(_ mask: UInt32) -> IntakeTracker.Signal? {
        if mask & UInt32(IN_OPEN) != 0 { return .opened }
        if mask & UInt32(IN_CLOSE_WRITE) != 0 { return .closed(wrote: true) }
        if mask & UInt32(IN_CLOSE_NOWRITE) != 0 { return .closed(wrote: false) }
        if mask & UInt32(IN_MODIFY | IN_ATTRIB) != 0 { return .changed }
        if mask & UInt32(IN_MOVED_TO) != 0 { return .movedIn }
        if mask & UInt32(IN_MOVED_FROM | IN_DELETE) != 0 { return .gone }
        return nil
    }
}

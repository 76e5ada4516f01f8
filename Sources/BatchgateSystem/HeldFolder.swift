#if canImport(Glibc)
import Glibc
#endif
import Synchronization

/// A folder the daemon works in through a descriptor (the `*at` calls), checked against its path
/// before each batch.
///
/// Why: a descriptor follows the folder, not the name. After `mv accepted accepted-2026-11; mkdir
/// accepted` (a monthly archive) the old descriptor would keep filling the archive while logs and
/// alerts say `accepted/`, and a deleted folder would take nothing more without a word. So a
/// folder whose path now names another folder is opened again (and the caller logs it), and one
/// that is gone is an error the daemon stops on (systemd restarts it, and start-up recreates it).
///
/// Several threads may use one (the router's workers, the alert senders): the descriptor is read
/// under a lock, and a replaced descriptor is kept open until the end, so a call made with it in
/// another thread at that moment still works on the folder it meant.
public final class HeldFolder: Sendable {
    public let path: String
    /// Whether a symbolic link at `path` is followed: only for the state root itself (systemd's
    /// `StateDirectory=` may be one); every folder inside it is refused as a link.
    private let followsLinks: Bool
    private let state: Mutex<(fd: Int32, retired: [Int32])>

    public init(_ path: String, followsLinks: Bool = false) throws(SystemError) {
        self.path = path
        self.followsLinks = followsLinks
        state = Mutex((try Self.open(path, followsLinks: followsLinks), []))
    }

    private static func open(_ path: String, followsLinks: Bool) throws(SystemError) -> Int32 {
        try System.openDirectory(path, followingLinks: followsLinks)
    }

    deinit {
        state.withLock { held in
            for fd in held.retired + [held.fd] { System.close(fd) }
        }
    }

    public var fd: Int32 { state.withLock { $0.fd } }

    /// Replaced descriptors kept open (see ``check()``).
    static let retiredKept = 4

    /// Why a held folder can no longer be used.
    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    /// Compares the descriptor with what `path` names now: false when they are the same folder,
    /// true when `path` names another folder, which is now held instead. Throws when the path names
    /// no folder (gone, a link, a file).
    public func check() throws(Problem) -> Bool {
        let named: stat
        do {
            named = followsLinks ? try System.fileStatus(atPath: path) : try System.linkStatus(path)
        } catch {
            let reason = error.errno == ENOENT ? "it was deleted or moved away and nothing took its place" : String(cString: strerror(error.errno))
            throw Problem(description: "the folder \(path) is gone: \(reason)")
        }
        switch named.st_mode & S_IFMT {
        case S_IFDIR: break
        case S_IFLNK: throw Problem(description: "\(path) is now a symbolic link; batchgate never follows links for its folders")
        default: throw Problem(description: "\(path) is no longer a folder")
        }
        do {
            let held = try System.fileStatus(of: fd, describing: path)
            if held.st_dev == named.st_dev, held.st_ino == named.st_ino { return false }
        } catch {
            // The descriptor cannot be asked (it never fails on an open folder): opening the path
            // again is right whatever it held.
        }
        let reopened: Int32
        do {
            reopened = try Self.open(path, followsLinks: followsLinks)
        } catch {
            throw Problem(description: "cannot open the folder \(path) again: \(error)")
        }
        state.withLock { held in
            held.retired.append(held.fd)
            held.fd = reopened
            // A call that read a descriptor finishes within a batch; checks come a second apart
            // at the most often, so only the last few replaced ones can still be in use. A folder
            // swapped back and forth for days must not use up descriptors.
            while held.retired.count > Self.retiredKept { System.close(held.retired.removeFirst()) }
        }
        return true
    }
}

#if canImport(Glibc)
import Glibc
#endif
import BatchgateCore
import BatchgateSystem

/// What reading one file came to (step 2 of ``Router``).
enum Evaluation {
    /// Read and evaluated; the stamp of the file as read, when it is a regular file.
    case read(ManifestReport, FileStamp?)
    /// It changed under every one of a few reads: its writer is still at it.
    case changing

    /// How many times a file that changes while it is read is read again before it is left to
    /// wait: a writer that appends a last line just then is caught by the second read.
    static let readAttempts = 3

    /// Reads and checks one file, never following a link and never blocking on a FIFO, and only
    /// when it stayed the same while it was read (size, modification and change times of the open
    /// descriptor before and after). Safe to run for several files at once.
    static func of(_ name: String, in folder: HeldFolder, checker: ManifestChecker) -> Evaluation {
        let path = folder.path + "/" + name
        let info: stat
        do {
            info = try System.lstatAt(folder.fd, name, in: folder.path + "/")
        } catch {
            return .read(.unreadable(file: name, reason: "the file could not be read: \(error)"), nil)
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG:
            break
        case S_IFLNK:
            return .read(.unreadable(file: name, reason: "the file is a symbolic link; batchgate never follows links, so it was moved to rejected/ as a link: drop the file itself"), nil)
        case S_IFIFO:
            return .read(.unreadable(file: name, reason: "the file is a named pipe (FIFO), not a regular file"), nil)
        default:
            return .read(.unreadable(file: name, reason: "the file is not a regular file"), nil)
        }
        let fd: Int32
        do {
            fd = try System.open(in: folder.fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, describing: path)
        } catch {
            return .read(.unreadable(file: name, reason: "the file could not be opened: \(String(cString: strerror(error.errno))) (check the permissions of \(path))"), nil)
        }
        defer { System.close(fd) }
        return read(fd, name, path: path, checker: checker)
    }

    /// ``of(_:in:checker:)`` for a file opened already, under the same name in another folder,
    /// and moved into `folder` since: the inbox file opened to ask whether a writer holds it
    /// (``System/openAskingWriters(in:_:)``) before its claim, read through that descriptor
    /// instead of being opened again (the claim moves the name, not the file). Closes `fd`.
    ///
    /// A writer may have put another file under the name between that open and the claim, so
    /// that the file read is not the one claimed. A read that ends with a stamp needs no look
    /// now: the stamp holds the device and inode read, and the router compares it with the file
    /// under `name` just before the move, which a file that is not the one read never passes
    /// (it waits in `folder` and is read again, as a file that changed). A read that ends without
    /// one (hard links, a read error) is compared now, and when the file under `name` is not the
    /// one opened, that file is read by name instead.
    static func of(opened fd: Int32, _ name: String, in folder: HeldFolder, checker: ManifestChecker) -> Evaluation {
        let path = folder.path + "/" + name
        let evaluation = read(fd, name, path: path, checker: checker)
        let readTheClaimedFile: Bool
        if case .read(_, nil) = evaluation {
            readTheClaimedFile = isSameFile(fd, name, in: folder)
        } else {
            readTheClaimedFile = true
        }
        System.close(fd)
        return readTheClaimedFile ? evaluation : of(name, in: folder, checker: checker)
    }

    /// Whether `fd` is open on the file `folder` holds under `name` (same device and inode); false
    /// when either cannot be looked at.
    private static func isSameFile(_ fd: Int32, _ name: String, in folder: HeldFolder) -> Bool {
        guard let opened = try? System.fileStatus(of: fd, describing: folder.path + "/" + name),
              let named = try? System.lstatAt(folder.fd, name, in: folder.path + "/") else { return false }
        return opened.st_dev == named.st_dev && opened.st_ino == named.st_ino
    }

    /// Reads and checks the file open as `fd` (opened never following a link and never blocking)
    /// when it is a regular file of one name that stays the same while it is read.
    private static func read(_ fd: Int32, _ name: String, path: String, checker: ManifestChecker) -> Evaluation {
        guard var opened = try? System.fileStatus(of: fd, describing: path), (opened.st_mode & S_IFMT) == S_IFREG else {
            return .read(.unreadable(file: name, reason: "the file is not a regular file"), nil)
        }
        if opened.st_nlink > 1 {
            // Another name could change the file after the decision, or be the real file of a
            // writer outside the inbox; a manifest is judged only when it is its own file.
            return .read(.unreadable(file: name, reason: "the file has \(opened.st_nlink) names (hard links): another name could change it after it was checked, so batchgate does not evaluate it; drop a copy (cp), not a link (ln)"), nil)
        }
        for _ in 1...readAttempts {
            let before = FileStamp(opened)
            let bytes: [UInt8]
            do {
                // One byte more than the size (or the limit), so a file that grew reads as changed
                // and one over the limit reads as such.
                bytes = try System.readStart(of: fd, count: min(Int(opened.st_size), checker.maximumSize) + 1, describing: path)
                opened = try System.fileStatus(of: fd, describing: path)
            } catch {
                return .read(.unreadable(file: name, reason: "the file could not be read: \(String(cString: strerror(error.errno)))"), nil)
            }
            let after = FileStamp(opened)
            // Unchanged, and what was read is the whole file (or the start of one over the limit).
            if after == before && (bytes.count == Int(after.size) || bytes.count > checker.maximumSize) {
                return .read(checker.check(fileName: name, bytes: bytes, fileSize: Int(opened.st_size)), after)
            }
        }
        return .changing
    }
}

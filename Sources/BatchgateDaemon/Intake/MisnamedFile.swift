#if canImport(Glibc)
import Glibc
#endif
import BatchgateSystem

/// A file in the inbox whose name is not UTF-8. Such a name cannot be carried through reports and
/// logs: the file is renamed within the inbox, each byte that is not UTF-8 written as `%XX`
/// (``percentEncodingInvalidUTF8(_:)``), and then waits as usual. A name already taken gets a
/// number (`x.2.json`), up to ``attempts``.
struct MisnamedFile: Sendable {
    /// How many names are tried: the encoded name, then `.2` to `.100`. An inbox that holds all of
    /// them is being played with; the file stays, and the daemon says so once.
    static let attempts = 100

    /// The name as listed, raw bytes.
    let bytes: [UInt8]
    /// The name with each byte that is not UTF-8 written as `%XX`: what logs call the file.
    let readable: String

    init(_ bytes: [UInt8]) {
        self.bytes = bytes
        readable = percentEncodingInvalidUTF8(bytes)
    }

    /// What to do with the file now.
    enum Decision: Equatable {
        /// Rename it now.
        case rename
        /// It changed less than a quiet period ago (still being written): look again then.
        case wait
        /// Nothing: gone, or a folder.
        case leave
    }

    /// Decides from what a look-up found (nil: gone) at wall-clock time `now` (seconds since 1970):
    /// a file renamed while its writer still has it open by name would be written under its old
    /// name again, so it waits until its times are a quiet period old.
    static func decide(_ entry: InboxScan.Entry, now: Double, quietPeriod: Double) -> Decision {
        guard case .file(let stamp) = entry else { return .leave }
        if now - Double(max(stamp.modified, stamp.changed)) / 1e9 < quietPeriod { return .wait }
        return .rename
    }

    /// The names tried in turn, each made only when the one before is taken.
    var candidates: LazyMapSequence<ClosedRange<Int>, String> {
        (1...Self.attempts).lazy.map { [readable] in suffixedName(readable, $0) }
    }

    /// How a rename ended.
    enum Outcome: Equatable {
        /// Renamed to this name.
        case renamed(String)
        /// Still changing: look again a quiet period later.
        case changing
        /// Gone, or a folder: nothing to do.
        case left
        /// Every one of the ``candidates`` is taken: the file stays as it is.
        case everyNameTaken
        /// The rename failed otherwise.
        case failed(SystemError)
    }

    /// Looks the file up in the inbox and renames it if it is time. `inboxPath` is for messages.
    func rename(in inboxFD: Int32, inboxPath: String, quietPeriod: Double) -> Outcome {
        let entry: InboxScan.Entry
        do {
            let info = try System.linkStatus(in: inboxFD, bytes: bytes, describing: inboxPath + "/" + readable)
            entry = (info.st_mode & S_IFMT) == S_IFDIR ? .folder : .file(IntakeTracker.Stamp(FileStamp(info)))
        } catch {
            entry = .vanished  // gone, or cannot be looked at: the next scan sees it again
        }
        switch Self.decide(entry, now: System.wallClock(), quietPeriod: quietPeriod) {
        case .leave: return .left
        case .wait: return .changing
        case .rename: break
        }
        for name in candidates {
            do {
                try System.renameNoReplace(from: inboxFD, bytes: bytes, to: inboxFD, name, describing: inboxPath + "/" + readable)
                return .renamed(name)
            } catch where error.errno == EEXIST {
                continue
            } catch {
                return .failed(error)
            }
        }
        return .everyNameTaken
    }
}

extension IntakeTracker.Stamp {
    /// The size and times of a file's stamp (the tracker does not need its inode).
    init(_ stamp: FileStamp) {
        self.init(size: stamp.size, modified: stamp.modified, changed: stamp.changed)
    }
}

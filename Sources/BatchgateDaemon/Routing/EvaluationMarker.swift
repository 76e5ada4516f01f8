#if canImport(Glibc)
import Glibc
#endif
import BatchgateCore
import Synchronization
import BatchgateSystem

/// `.batchgate.evaluating` in the state root: the names of the files being read and evaluated right now, and how
/// many times in a row each was being evaluated when the daemon died.
///
/// Why: a file that takes the process down while it is evaluated (memory, a bug) would otherwise
/// be evaluated again at every start, before READY, and the service would never come up. With
/// the marker the next start knows which files were in hand: it evaluates each of them again,
/// alone, and a file found in hand a second time is rejected unread (``Router/recover()``;
/// docs/routing.md).
///
/// Written in place through one descriptor held open (a few system calls per batch, no new file)
/// and never flushed to disk: it must survive the process dying, which the page cache does, not a
/// power cut, which is no file's fault.
final class EvaluationMarker {
    static let name = ".batchgate.evaluating"
    private let fd: Int32
    private let path: String

    init(in folder: HeldFolder, describing folderPath: String) throws(SystemError) {
        path = folderPath + "/" + Self.name
        fd = try System.open(in: folder.fd, Self.name, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, mode: 0o640, describing: path)
    }

    deinit { System.close(fd) }

    /// Records that these files are being evaluated, for the `attempt`-th time in a row.
    func begin(_ names: [String], attempt: Int) {
        var json = JSONWriter()
        json.beginObject()
        json.key("attempt"); json.int(attempt)
        json.key("names"); json.strings(names)
        json.endObject()
        let bytes = json.bytes + [0x0A]
        // A failure only loses the protection for this batch: never a reason to stop routing,
        // nor worth a log line per batch (the marker is one small file in the state root, which
        // the reports written next need far more; their failures are logged).
        try? System.write(fd, bytes, at: 0, describing: path)
        try? System.truncate(fd, to: Int64(bytes.count), describing: path)
    }

    /// The evaluation is over. A failure leaves names that a later start evaluates alone once
    /// more, which costs only time (see ``begin(_:attempt:)``).
    func end() {
        try? System.truncate(fd, to: 0, describing: path)
    }

    /// What an earlier run left: each name with its attempt number; empty when it died outside an
    /// evaluation (or never).
    func read() -> [String: Int] {
        guard let info = try? System.fileStatus(of: fd, describing: path), info.st_size > 0, info.st_size < 64 << 20,
              let bytes = try? System.read(fd, count: Int(info.st_size), at: 0, describing: path),
              !bytes.isEmpty, let element = try? JSONParser.parse(bytes[...]), case .object(let members) = element.value,
              case .number(let attempt)? = members.first(where: { $0.key == "attempt" })?.value,
              case .array(let names)? = members.first(where: { $0.key == "names" })?.value
        else { return [:] }
        var suspects: [String: Int] = [:]
        for name in names {
            if case .string(let text) = name.value { suspects[text] = Int(attempt) }
        }
        return suspects
    }
}

/// A count that only goes up, shared between the router (which advances it as it works) and the
/// watchdog (which reads it from another thread).
final class ProgressCounter: Sendable {
    private let value = Atomic<Int>(0)

    init() {}

    func advance() { value.add(1, ordering: .relaxed) }

    var current: Int { value.load(ordering: .relaxed) }
}

#if canImport(Glibc)
import Glibc
#endif
import BatchgateCore
import BatchgateSystem

extension MetrcCacheFile {
    /// The bytes read from the start of the file for ``loadParts(_:)``: the facility and the
    /// parts' states take a few hundred.
    static let headSize = 64 << 10

    /// The cache's facility and each part's state (``MetrcSnapshot/parts``) without its records:
    /// what `batchgate status` shows. The parts come before the records in the file, so only its
    /// start is read: a facility's 100,000 packages cost a second to decode, and a status must
    /// answer at once. The parts of a file of an older version are left out, as ``load(_:)``
    /// leaves them out: the daemon syncs every part afresh. A file whose start is not laid out as
    /// batchgate writes it is read whole, so its error is the one ``load(_:)`` gives. Nil when
    /// there is no file.
    /// - Throws: ``MetrcCacheError`` as ``load(_:)`` does.
    public static func loadParts(_ path: String) throws(MetrcCacheError) -> MetrcSnapshot? {
        let head: [UInt8]?
        do throws(SystemError) {
            let fd = try System.openForReading(path)
            defer { System.close(fd) }
            let isFile = (try System.fileStatus(of: fd, describing: path).st_mode & S_IFMT) == S_IFREG
            head = isFile ? try System.read(fd, count: headSize, at: 0, describing: path) : nil
        } catch where error.errno == ENOENT {
            return nil
        } catch {
            throw MetrcCacheError(path: path, problem: .cannotRead(error.description))
        }
        // The records begin at `"itemFields":`, which no text before it can hold: a quote inside
        // a JSON text is escaped. Every version writes the same start.
        let marker = Array(",\"itemFields\":".utf8)
        // Not a regular file: load's message says what it is.
        guard let head, let start = head.firstRange(of: marker)?.lowerBound else { return try load(path) }
        // The start up to the records, closed: an object of the version, facility and parts.
        let top: Fields
        do {
            top = try topLevel(Array(head[..<start]) + [UInt8(ascii: "}")], path: path)
        } catch {
            return try load(path)
        }
        return try decodeHead(top, path: path).0
    }
}

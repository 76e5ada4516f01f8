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
    /// answer at once. A file whose start is not laid out as this version writes it is read whole,
    /// so its error is the one ``load(_:)`` gives. Nil when there is no file.
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
        // a JSON text is escaped.
        let marker = Array(",\"itemFields\":".utf8)
        // Not a regular file: load's message says what it is.
        guard let head, let start = head.firstRange(of: marker)?.lowerBound else { return try load(path) }
        var writer = JSONWriter()
        writer.beginObject()
        writer.key("itemFields"); writer.strings(itemFields)
        writer.key("items"); writer.beginArray(); writer.endArray()
        writer.key("packageFields"); writer.strings(packageFields)
        writer.key("packages"); writer.beginArray(); writer.endArray()
        writer.endObject()
        // The start up to the records, then the field lists with no record: a cache of the same
        // facility and parts that decode checks as it checks any.
        let records = writer.bytes.dropFirst()
        return try decode(Array(head[..<start]) + [UInt8(ascii: ",")] + records, path: path)
    }
}

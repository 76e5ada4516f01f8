#if canImport(Glibc)
import Glibc
#endif
import BatchgateSystem

/// Credentials by name: the bytes of each and the file it was read from. The bytes are secrets:
/// compare them, never show them.
public struct CredentialFiles: Sendable {
    /// Each credential's bytes, by credential name.
    public var contents: [String: [UInt8]] = [:]
    /// The file each credential was read from, by credential name.
    public var paths: [String: String] = [:]

    /// No credentials.
    public init() {}

    /// True when there are no credentials.
    public var isEmpty: Bool { contents.isEmpty }

    /// The credentials a service was started with that one `LoadCredential=ID:…` line gave it:
    /// the regular files in its credentials folder (`$CREDENTIALS_DIRECTORY`, which systemd fills
    /// at start and where every credential is a plain file) whose names start with `id_`.
    /// - Throws: ``CredentialError`` naming the folder or file that could not be read.
    public static func loaded(in directory: String, id: String) throws(CredentialError) -> CredentialFiles {
        let prefix = id + "_"
        var entries: [(name: String, type: UInt8)] = []
        do {
            try System.forEachEntry(of: directory) { entry in
                if let name = entry.name, name.hasPrefix(prefix) { entries.append((name, entry.type)) }
                return true
            }
        } catch {
            throw .unreadableFolder(error)
        }
        var files = CredentialFiles()
        for (name, type) in entries {
            let path = FilePaths.join(directory, name)
            guard try CredentialSource.kind(of: path, type: type) == .regularFile else { continue }
            files.contents[name] = try CredentialSource.read(path)
            files.paths[name] = path
        }
        return files
    }
}

/// One `LoadCredential=ID:DIR` line of a unit, and the credentials systemd would load from DIR
/// were it to start the service now: what systemd 252 does in `acquire_credentials` and
/// `load_cred_recurse_dir_cb` (src/core/execute.c), so that what is compared is what a restart
/// would give the daemon.
///
/// systemd walks DIR and its subfolders depth first, each folder's entries sorted by name (byte
/// order, `strcmp`) with every name that starts with `.` left out, file or folder; it takes only
/// regular files (a symbolic link is not followed, so neither a linked file nor a linked folder
/// counts); it names each `ID` + `_` + the file's path under DIR with every `/` turned into `_`;
/// and when two files come to the same name, the first in that order wins and the other is
/// skipped. A name it cannot use as a credential's, a file larger than 1 MiB or more than 1 MiB
/// in all make it refuse to start the service.
public struct CredentialSource: Sendable, Equatable {
    /// The credential ID: the part before the colon.
    public let id: String
    /// The folder, an absolute path.
    public let folder: String

    /// systemd's limit on one credential (`CREDENTIAL_SIZE_MAX`): a larger file fails the start.
    static let sizeLimit = 1 << 20
    /// systemd's limit on a service's credentials together (`CREDENTIALS_TOTAL_SIZE_MAX`), each
    /// counted as its name's length plus its size.
    static let totalLimit = 1 << 20

    /// The source `value` names: `ID:DIR`, exactly as the unit's `LoadCredential=` line has it.
    /// - Throws: ``CredentialError/badSource(_:reason:)`` when there is no colon, the ID is not a
    ///   name systemd accepts, or DIR is not an absolute path.
    public init(parsing value: String) throws(CredentialError) {
        guard let colon = value.firstIndex(of: ":") else {
            throw .badSource(value, reason: "expected ID:DIR, the value of the unit's LoadCredential= line, such as secrets:/etc/batchgate/credentials")
        }
        id = String(value[..<colon])
        folder = String(value[value.index(after: colon)...])
        guard Self.isValidName(Array(id.utf8)) else {
            throw .badSource(value, reason: "the ID \"\(id)\" is not a credential name systemd accepts (1 to 255 characters of printable ASCII, no / or :)")
        }
        guard folder.hasPrefix("/") else {
            throw .badSource(value, reason: "the folder \"\(folder)\" is not an absolute path")
        }
    }

    /// The credentials systemd would load from ``folder`` now, by name.
    /// - Throws: ``CredentialError``: a folder or file that cannot be read (the folder itself
    ///   missing among them: ``CredentialError/isMissing(folder:)``), a name systemd refuses, a file
    ///   or a total over systemd's limits.
    public func read() throws(CredentialError) -> CredentialFiles {
        var files = CredentialFiles()
        var total = 0
        try walk(folder, under: id, into: &files, total: &total)
        return files
    }

    /// Adds the credentials of `path`, whose entries are named `prefix` + `_` + their name, then
    /// walks each subfolder as it comes in the sorted order.
    private func walk(_ path: String, under prefix: String, into files: inout CredentialFiles, total: inout Int) throws(CredentialError) {
        var entries: [System.DirectoryEntry] = []
        do {
            try System.forEachEntry(of: path) { entry in
                if entry.bytes.first != UInt8(ascii: ".") { entries.append(entry) }
                return true
            }
        } catch {
            throw .unreadableFolder(error)
        }
        entries.sort { $0.bytes.lexicographicallyPrecedes($1.bytes) }
        for entry in entries {
            guard let name = entry.name else {
                // A name Swift cannot hold cannot be opened by path here; systemd refuses any
                // credential name outside printable ASCII, so nothing under it could load anyway.
                throw .notText(path: FilePaths.join(path, String(decoding: entry.bytes, as: UTF8.self)))
            }
            let child = FilePaths.join(path, name)
            let credential = prefix + "_" + name
            switch try Self.kind(of: child, type: entry.type) {
            case .folder:
                try walk(child, under: credential, into: &files, total: &total)
            case .regularFile:
                guard Self.isValidName(Array(credential.utf8)) else { throw .invalidName(path: child, name: credential) }
                // The first file to take a name keeps it, as systemd skips a name already loaded.
                guard files.contents[credential] == nil else { continue }
                let bytes = try Self.read(child)
                total += credential.utf8.count + bytes.count
                guard total <= Self.totalLimit else { throw .tooMuch(folder: folder) }
                files.contents[credential] = bytes
                files.paths[credential] = child
            case .other:
                continue
            }
        }
    }

    /// What the walk makes of an entry.
    enum Kind: Equatable {
        case regularFile, folder, other
    }

    /// The kind of the entry at `path` from its `d_type`, or from `lstat` when the filesystem
    /// gave none (`DT_UNKNOWN`), as systemd's `RECURSE_DIR_ENSURE_TYPE` does.
    static func kind(of path: String, type: UInt8) throws(CredentialError) -> Kind {
        if type != UInt8(DT_UNKNOWN) {
            switch type {
            case UInt8(DT_REG): return .regularFile
            case UInt8(DT_DIR): return .folder
            default: return .other
            }
        }
        let info: stat
        do {
            info = try System.linkStatus(path)
        } catch {
            throw .unreadableFolder(error)
        }
        switch info.st_mode & S_IFMT {
        case S_IFREG: return .regularFile
        case S_IFDIR: return .folder
        default: return .other
        }
    }

    /// A credential file's bytes, read as secrets are (``RegularFile``: a regular file only, never
    /// past the cap), up to systemd's limit on one credential.
    static func read(_ path: String) throws(CredentialError) -> [UInt8] {
        do {
            return try RegularFile.read(path, limit: sizeLimit)
        } catch {
            throw .unreadableFile(error)
        }
    }

    /// Whether systemd takes `name` as a credential's name (`credential_name_valid`: a valid file
    /// name and a valid `$LISTEN_FDNAMES` entry): 1 to 255 bytes of printable ASCII, no `/` and
    /// no `:`, neither `.` nor `..`.
    static func isValidName(_ name: [UInt8]) -> Bool {
        guard !name.isEmpty, name.count <= 255, name != [0x2E], name != [0x2E, 0x2E] else { return false }
        return name.allSatisfy { (0x20...0x7E).contains($0) && $0 != UInt8(ascii: "/") && $0 != UInt8(ascii: ":") }
    }
}

/// Credentials that could not be read or compared. The message names the folder, file or
/// credential and never a credential's bytes.
public enum CredentialError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The `ID:DIR` given is not a usable `LoadCredential=` value.
    case badSource(String, reason: String)
    /// A folder could not be listed, or an entry in it looked at.
    case unreadableFolder(SystemError)
    /// A file could not be read, is no longer a regular file, or is over systemd's 1 MiB.
    case unreadableFile(RegularFile.ReadError)
    /// A file would get a credential name systemd refuses, so that it would not start the service.
    case invalidName(path: String, name: String)
    /// An entry's name is not UTF-8 (shown here with replacement characters).
    case notText(path: String)
    /// The folder's credentials add up to more than systemd loads for a service.
    case tooMuch(folder: String)

    /// Whether this is `folder` itself not existing.
    public func isMissing(folder: String) -> Bool {
        if case .unreadableFolder(let error) = self { return error.errno == ENOENT && error.path == folder }
        return false
    }

    /// What is wrong, and what systemd would do about it at the next start.
    public var description: String {
        let refused = "systemd would refuse to start the service with it"
        switch self {
        case .badSource(let value, let reason):
            return "--source \(value): \(reason)"
        case .unreadableFolder(let error):
            return "\(error)"
        case .unreadableFile(let error):
            if case .tooLarge = error.problem {
                return "\(error): a credential may be at most 1 MiB, \(refused)"
            }
            return "\(error)"
        case .invalidName(let path, let name):
            return "\(path) would be the credential \(name), a name \(refused) (printable ASCII only, no : and at most 255 characters): rename the file"
        case .notText(let path):
            return "\(path): the name is not UTF-8; a credential name is printable ASCII, \(refused): rename it"
        case .tooMuch(let folder):
            return "the credentials in \(folder) come to more than 1 MiB together, names included; \(refused)"
        }
    }
}

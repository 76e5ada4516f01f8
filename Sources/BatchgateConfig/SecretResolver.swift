import Foundation
import BatchgateSystem

/// Reads the files secrets are kept in. ``SystemSecretFileReader`` reads the file system; tests
/// give the resolver one that reads a dictionary.
protocol SecretFileReader: Sendable {
    /// The bytes of the file at `path`.
    /// - Throws: ``RegularFile/ReadError`` naming the path and what is wrong with it.
    func read(path: String) throws(RegularFile.ReadError) -> [UInt8]
}

/// Reads secret files with ``RegularFile/read(_:limit:)``: only a regular file of at most
/// ``sizeLimit`` bytes, so that a FIFO or a device named as a secret is refused at once.
struct SystemSecretFileReader: SecretFileReader {
    /// The largest secret file read: 64 KiB. A secret is a URL, a token, a password or a key of
    /// at most a few kilobytes; anything larger is the wrong file.
    static let sizeLimit = 64 * 1024

    /// A reader of the real file system.
    init() {}

    /// The file's bytes.
    /// - Throws: ``RegularFile/ReadError``: the file cannot be opened or read, is not a regular
    ///   file, or is larger than ``sizeLimit``.
    func read(path: String) throws(RegularFile.ReadError) -> [UInt8] {
        try RegularFile.read(path, limit: Self.sizeLimit)
    }
}

/// Where `{credential: NAME}` secrets are read from.
enum CredentialOrigin: Sendable, Equatable {
    /// The folder `$CREDENTIALS_DIRECTORY` names, where systemd puts the service's credentials
    /// when it starts it. The daemon reads only these: what systemd gave it, nothing else.
    case service
    /// The files systemd would load from one `LoadCredential=ID:DIR` line, by credential name
    /// (``CredentialFiles/paths``): how a check outside systemd sees what the service would get.
    case source(CredentialSource, files: [String: String])
}

/// Turns ``SecretReference``s into ``Secret``s, reading files through a ``SecretFileReader``,
/// variables from an environment snapshot and credentials from a ``CredentialOrigin``.
public struct SecretResolver: Sendable {
    /// The variable systemd sets to the folder holding a service's `LoadCredential=` files.
    static let credentialsDirectoryVariable = "CREDENTIALS_DIRECTORY"

    /// Reads secret and credential files.
    var files: any SecretFileReader
    /// The environment variables `{env: NAME}` and `CREDENTIALS_DIRECTORY` are looked up in.
    var environment: [String: String]
    /// Where `{credential: NAME}` is read from.
    var credentials: CredentialOrigin

    /// A resolver reading files with `files`, variables from `environment` and credentials from
    /// `credentials`.
    init(files: any SecretFileReader, environment: [String: String], credentials: CredentialOrigin = .service) {
        self.files = files
        self.environment = environment
        self.credentials = credentials
    }

    /// A resolver reading the file system and this process's environment, credentials from
    /// `$CREDENTIALS_DIRECTORY`: the daemon's.
    public static func system() -> SecretResolver {
        SecretResolver(files: SystemSecretFileReader(), environment: ProcessInfo.processInfo.environment)
    }

    /// A resolver like ``system()`` but for credentials, which it reads from the files systemd
    /// would load from `source` were it to start the service now (``CredentialSource/read()``),
    /// not from `$CREDENTIALS_DIRECTORY`: for checking a configuration outside systemd.
    /// - Throws: ``CredentialError``: the folder or a file in it cannot be read, or systemd would
    ///   refuse to load it (a name it refuses, more than it loads).
    public static func system(credentialsFrom source: CredentialSource) throws(CredentialError) -> SecretResolver {
        let loaded = try source.read()
        return SecretResolver(files: SystemSecretFileReader(), environment: ProcessInfo.processInfo.environment,
                              credentials: .source(source, files: loaded.paths))
    }

    /// The secret `reference` points at. A file's text loses one trailing newline; a value that
    /// is empty or only white space is an error.
    func resolve(_ reference: SecretReference) throws(SecretError) -> Secret {
        let value: String
        switch reference {
        case .inline(let inline):
            value = inline
        case .file(let path):
            value = try text(ofFile: path, for: reference)
        case .credential(let name):
            value = try text(ofFile: credentialFile(name), for: reference)
        case .environment(let name):
            guard let variable = environment[name] else { throw .environmentVariableUnset(name) }
            value = variable
        }
        guard !value.allSatisfy(\.isWhitespace) else { throw .empty(reference) }
        return Secret(value)
    }

    /// The file the credential `name` is read from. Either way it is then read as any secret
    /// file is (``files``), so that a credential passes the same checks under systemd and outside.
    private func credentialFile(_ name: String) throws(SecretError) -> String {
        switch credentials {
        case .service:
            guard let directory = environment[Self.credentialsDirectoryVariable], !directory.isEmpty else {
                throw .credentialsDirectoryUnset(credential: name)
            }
            return FilePaths.join(directory, name)
        case .source(let source, let files):
            guard let path = files[name] else { throw .notInSource(credential: name, source: source) }
            return path
        }
    }

    private func text(ofFile path: String, for reference: SecretReference) throws(SecretError) -> String {
        let bytes: [UInt8]
        do {
            bytes = try files.read(path: path)
        } catch {
            throw .unreadable(reference, error)
        }
        guard var text = String(validating: bytes, as: UTF8.self) else { throw .notText(reference) }
        if text.last == "\n" || text.last == "\r\n" { text.removeLast() }
        return text
    }
}

/// A secret that could not be had. The message names the reference (a path or a name) and never
/// a value.
enum SecretError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file (or credential file) could not be read, or is not a regular file of at most
    /// ``SystemSecretFileReader/sizeLimit`` bytes.
    case unreadable(SecretReference, RegularFile.ReadError)
    /// The file is not UTF-8 text.
    case notText(SecretReference)
    /// The value is empty or only white space.
    case empty(SecretReference)
    /// A credential was asked for but `CREDENTIALS_DIRECTORY` is not set.
    case credentialsDirectoryUnset(credential: String)
    /// A credential was asked for that systemd would not load from the folder checked.
    case notInSource(credential: String, source: CredentialSource)
    /// The environment variable is not set.
    case environmentVariableUnset(String)

    /// What went wrong, naming the file, credential or variable, such as
    /// `secret from file /etc/batchgate/webhook: cannot open /etc/batchgate/webhook: No such file or directory (errno 2)`.
    var description: String {
        switch self {
        case .unreadable(let reference, let error):
            "secret from \(reference): \(error)"
        case .notText(let reference):
            "secret from \(reference): not UTF-8 text"
        case .empty(let reference):
            "secret from \(reference): empty"
        case .credentialsDirectoryUnset(let name):
            Self.unset(credential: name)
        case .notInSource(let name, let source):
            Self.missing(credential: name, from: source)
        case .environmentVariableUnset(let name):
            "secret from environment variable \(name): the variable is not set"
        }
    }

    /// Why a credential cannot be had without `CREDENTIALS_DIRECTORY`, and how to check it anyway.
    /// A name `ID_FILE` is what a folder gives (`LoadCredential=ID:DIR`), which
    /// `config check --credentials` can read as systemd would; any other name comes from a
    /// single file, which only systemd or a `{file:}` reference can give.
    private static func unset(credential name: String) -> String {
        guard let separator = name.firstIndex(of: "_"), separator != name.startIndex else {
            return "secret from credential \(name): CREDENTIALS_DIRECTORY is not set; run the daemon under systemd with "
                + "LoadCredential=\(name):/path/to/file, or write {file: /path/to/file} instead"
        }
        let id = name[..<separator]
        return "secret from credential \(name): CREDENTIALS_DIRECTORY is not set (systemd sets it for the service, from "
            + "its LoadCredential= lines); outside systemd, check with --credentials \(id):/etc/batchgate/credentials "
            + "(as root), or the folder the unit's LoadCredential=\(id): names"
    }

    /// The file in `source`'s folder that would give the credential `name`, and why none did.
    private static func missing(credential name: String, from source: CredentialSource) -> String {
        let prefix = source.id + "_"
        guard name.hasPrefix(prefix), name.count > prefix.count else {
            return "secret from credential \(name): not among the credentials of --credentials \(source.id):\(source.folder), "
                + "whose names are \(prefix)FILE for a FILE in \(source.folder)"
        }
        let file = String(name.dropFirst(prefix.count))
        // systemd turns each / of a file's path under the folder into _, so a _ may stand for either.
        let nested = String(file.map { $0 == "_" ? "/" : $0 })
        var message = "secret from credential \(name): no file \(file) in \(source.folder)"
        if nested != file { message += " (nor \(nested))" }
        if nested.split(separator: "/").contains(where: { $0.hasPrefix(".") }) {
            message += "; systemd loads no file or folder whose name starts with a dot"
        }
        return message
    }
}

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

/// Turns ``SecretReference``s into ``Secret``s, reading files through a ``SecretFileReader`` and
/// variables from an environment snapshot.
public struct SecretResolver: Sendable {
    /// The variable systemd sets to the folder holding a service's `LoadCredential=` files.
    static let credentialsDirectoryVariable = "CREDENTIALS_DIRECTORY"

    /// Reads secret and credential files.
    var files: any SecretFileReader
    /// The environment variables `{env: NAME}` and `CREDENTIALS_DIRECTORY` are looked up in.
    var environment: [String: String]

    /// A resolver reading files with `files` and variables from `environment`.
    init(files: any SecretFileReader, environment: [String: String]) {
        self.files = files
        self.environment = environment
    }

    /// A resolver reading the file system and this process's environment.
    public static func system() -> SecretResolver {
        SecretResolver(files: SystemSecretFileReader(), environment: ProcessInfo.processInfo.environment)
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
            guard let directory = environment[Self.credentialsDirectoryVariable], !directory.isEmpty else {
                throw .credentialsDirectoryUnset(credential: name)
            }
            value = try text(ofFile: FilePaths.join(directory, name), for: reference)
        case .environment(let name):
            guard let variable = environment[name] else { throw .environmentVariableUnset(name) }
            value = variable
        }
        guard !value.allSatisfy(\.isWhitespace) else { throw .empty(reference) }
        return Secret(value)
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
            "secret from credential \(name): CREDENTIALS_DIRECTORY is not set; run the daemon under systemd with "
                + "LoadCredential=\(name):/path/to/file, or write {file: /path/to/file} instead"
        case .environmentVariableUnset(let name):
            "secret from environment variable \(name): the variable is not set"
        }
    }
}

import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif
@testable import BatchgateConfig

/// What a rotated secret changes: the comparison of a service's credentials with its folder, by
/// name, and the folder read the way systemd reads a `LoadCredential=ID:DIR` folder.
@Suite("Credentials against their folder")
struct CredentialChangesTests {
    static func bytes(_ text: String) -> [UInt8] { Array(text.utf8) }

    @Test func theSameCredentialsDifferInNothing() {
        let credentials = ["secrets_webhook": Self.bytes("https://hooks.example/a"), "secrets_smtp": Self.bytes("hunter2")]
        let changes = CredentialChanges(loaded: credentials, source: credentials, id: "secrets")
        #expect(changes.isEmpty)
        #expect(changes == CredentialChanges(loaded: [:], source: [:], id: "secrets"))
    }

    @Test func aCredentialWhoseBytesDifferIsChanged() {
        // One trailing newline is a different file: systemd passes bytes, not text.
        let changes = CredentialChanges(loaded: ["secrets_smtp": Self.bytes("hunter2")],
                                        source: ["secrets_smtp": Self.bytes("hunter2\n")], id: "secrets")
        #expect(changes.changed == ["secrets_smtp"])
        #expect(changes.added.isEmpty && changes.removed.isEmpty)
        #expect(!changes.isEmpty)
    }

    @Test func aCredentialOnlyInTheFolderIsAdded() {
        let changes = CredentialChanges(loaded: [:], source: ["secrets_token": Self.bytes("t")], id: "secrets")
        #expect(changes.added == ["secrets_token"])
        #expect(changes.changed.isEmpty && changes.removed.isEmpty)
    }

    @Test func aCredentialGoneFromTheFolderIsRemoved() {
        let changes = CredentialChanges(loaded: ["secrets_token": Self.bytes("t")], source: [:], id: "secrets")
        #expect(changes.removed == ["secrets_token"])
        #expect(changes.changed.isEmpty && changes.added.isEmpty)
    }

    @Test func severalDifferencesAtOnceAreEachListedSorted() {
        let loaded = ["secrets_b": Self.bytes("1"), "secrets_a": Self.bytes("1"), "secrets_same": Self.bytes("s"),
                      "secrets_gone2": Self.bytes("x"), "secrets_gone1": Self.bytes("x")]
        let source = ["secrets_b": Self.bytes("2"), "secrets_a": Self.bytes("2"), "secrets_same": Self.bytes("s"),
                      "secrets_new2": Self.bytes("n"), "secrets_new1": Self.bytes("n")]
        let changes = CredentialChanges(loaded: loaded, source: source, id: "secrets")
        #expect(changes.changed == ["secrets_a", "secrets_b"])
        #expect(changes.added == ["secrets_new1", "secrets_new2"])
        #expect(changes.removed == ["secrets_gone1", "secrets_gone2"])
    }

    @Test func credentialsOfOtherIDsAreLeftAlone() {
        // Another LoadCredential= line's credentials, and one whose ID merely starts the same.
        let loaded = ["metrc_key": Self.bytes("k"), "secretsextra": Self.bytes("e"), "secrets": Self.bytes("f"),
                      "secrets_webhook": Self.bytes("w")]
        let changes = CredentialChanges(loaded: loaded, source: ["secrets_webhook": Self.bytes("w")], id: "secrets")
        #expect(changes.isEmpty, "\(changes)")
    }
}

/// The folder read as systemd 252 reads a `LoadCredential=ID:DIR` folder, on real files.
@Suite("Credential folder walk")
struct CredentialSourceTests {
    let fileManager = FileManager.default

    /// A fresh folder, removed by the caller.
    func temporaryFolder() throws -> URL {
        let url = fileManager.temporaryDirectory.appendingPathComponent("batchgate-credentials-\(UUID().uuidString)")
        try fileManager.createDirectory(at: url, withIntermediateDirectories: true)
        return url
    }

    /// Writes `text` at `path` under `folder`, creating the folders on the way.
    func write(_ text: String, _ path: String, in folder: URL) throws {
        let url = folder.appendingPathComponent(path)
        try fileManager.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(text.utf8).write(to: url)
    }

    /// The folder's credentials as text, by name.
    func read(_ folder: URL, id: String = "secrets") throws -> [String: String] {
        let files = try CredentialSource(parsing: "\(id):\(folder.path)").read()
        return files.contents.mapValues { String(decoding: $0, as: UTF8.self) }
    }

    @Test func filesInSubfoldersAreNamedByTheirPathWithUnderscores() throws {
        let folder = try temporaryFolder()
        defer { try? fileManager.removeItem(at: folder) }
        try write("w", "webhook", in: folder)
        try write("p", "mail/password", in: folder)
        try write("d", "a/b/c", in: folder)
        #expect(try read(folder) == ["secrets_webhook": "w", "secrets_mail_password": "p", "secrets_a_b_c": "d"])
        let files = try CredentialSource(parsing: "secrets:\(folder.path)").read()
        #expect(files.paths["secrets_mail_password"] == folder.path + "/mail/password")
    }

    @Test func dotFilesAndDotFoldersAreSkipped() throws {
        let folder = try temporaryFolder()
        defer { try? fileManager.removeItem(at: folder) }
        try write("k", "kept", in: folder)
        try write("h", ".hidden", in: folder)
        try write("s", ".git/config", in: folder)
        try write("v", "sub/.swp", in: folder)
        #expect(try read(folder) == ["secrets_kept": "k"])
    }

    @Test func symbolicLinksAreNotFollowed() throws {
        let folder = try temporaryFolder()
        let elsewhere = try temporaryFolder()
        defer {
            try? fileManager.removeItem(at: folder)
            try? fileManager.removeItem(at: elsewhere)
        }
        try write("real", "real", in: folder)
        try write("outside", "target", in: elsewhere)
        try fileManager.createSymbolicLink(atPath: folder.appendingPathComponent("linked").path,
                                           withDestinationPath: elsewhere.appendingPathComponent("target").path)
        try fileManager.createSymbolicLink(atPath: folder.appendingPathComponent("linkedfolder").path, withDestinationPath: elsewhere.path)
        try fileManager.createSymbolicLink(atPath: folder.appendingPathComponent("inside").path, withDestinationPath: "real")
        #expect(try read(folder) == ["secrets_real": "real"])
    }

    @Test func theFirstFileInSortedWalkOrderKeepsADuplicateName() throws {
        // "a" sorts before "a_b", and the walk goes into a/ when it comes to it: a/b takes
        // secrets_a_b first and the file a_b is skipped, as systemd skips a name already loaded.
        let folder = try temporaryFolder()
        defer { try? fileManager.removeItem(at: folder) }
        try write("from the file a_b", "a_b", in: folder)
        try write("from a/b", "a/b", in: folder)
        #expect(try read(folder) == ["secrets_a_b": "from a/b"])
        let files = try CredentialSource(parsing: "secrets:\(folder.path)").read()
        #expect(files.paths["secrets_a_b"] == folder.path + "/a/b")

        // Names sort by their bytes: "A" < "A_b" < "a", so the folder A/ takes secrets_A_b before the file A_b.
        let other = try temporaryFolder()
        defer { try? fileManager.removeItem(at: other) }
        try write("upper file", "A_b", in: other)
        try write("lower folder", "a/b", in: other)
        try write("upper folder", "A/b", in: other)
        #expect(try read(other) == ["secrets_A_b": "upper folder", "secrets_a_b": "lower folder"])
    }

    @Test func aNameSystemdRefusesFailsTheRead() throws {
        let folder = try temporaryFolder()
        defer { try? fileManager.removeItem(at: folder) }
        try write("x", "host:port", in: folder)
        let error = #expect(throws: CredentialError.self) { try CredentialSource(parsing: "secrets:\(folder.path)").read() }
        let message = "\(error.map { "\($0)" } ?? "")"
        #expect(message.contains("\(folder.path)/host:port would be the credential secrets_host:port"), "\(message)")
        #expect(message.contains("rename the file"))
    }

    @Test func aFileOverSystemdsLimitFailsTheRead() throws {
        let folder = try temporaryFolder()
        defer { try? fileManager.removeItem(at: folder) }
        try Data(count: (1 << 20) + 1).write(to: folder.appendingPathComponent("large"))
        let error = #expect(throws: CredentialError.self) { try CredentialSource(parsing: "secrets:\(folder.path)").read() }
        let message = "\(error.map { "\($0)" } ?? "")"
        #expect(message.contains("\(folder.path)/large is larger than 1 MiB: a credential may be at most 1 MiB"), "\(message)")
    }

    @Test func aMissingFolderIsToldApart() throws {
        let folder = try temporaryFolder()
        try fileManager.removeItem(at: folder)
        do {
            _ = try CredentialSource(parsing: "secrets:\(folder.path)").read()
            Issue.record("read a missing folder")
        } catch {
            #expect(error.isMissing(folder: folder.path))
            #expect("\(error)".contains(folder.path) && "\(error)".contains("errno 2"), "\(error)")
        }
    }

    /// A value that is not `ID:DIR` as a unit's LoadCredential= has it.
    @Test(arguments: [
        ("/etc/batchgate/credentials", "expected ID:DIR"),
        (":/etc/batchgate/credentials", "the ID \"\" is not a credential name"),
        ("sec rets\u{7}:/etc/x", "is not a credential name"),
        ("secrets:etc/batchgate/credentials", "the folder \"etc/batchgate/credentials\" is not an absolute path"),
        ("secrets:", "is not an absolute path"),
    ])
    func aBadSourceIsRefused(value: String, message: String) {
        let error = #expect(throws: CredentialError.self) { try CredentialSource(parsing: value) }
        let text = "\(error.map { "\($0)" } ?? "")"
        #expect(text.hasPrefix("--source \(value): ") && text.contains(message), "\(text)")
    }

    @Test func theSourceSplitsAtTheFirstColon() throws {
        let source = try CredentialSource(parsing: "secrets:/srv/odd:folder")
        #expect(source.id == "secrets" && source.folder == "/srv/odd:folder")
    }

    @Test func loadedCredentialsAreThoseOfTheIDAndRegularFiles() throws {
        let directory = try temporaryFolder()
        defer { try? fileManager.removeItem(at: directory) }
        try write("w", "secrets_webhook", in: directory)
        try write("m", "metrc_key", in: directory)
        try fileManager.createDirectory(at: directory.appendingPathComponent("secrets_folder"), withIntermediateDirectories: true)
        try fileManager.createSymbolicLink(atPath: directory.appendingPathComponent("secrets_link").path, withDestinationPath: "secrets_webhook")
        let loaded = try CredentialFiles.loaded(in: directory.path, id: "secrets")
        #expect(loaded.contents.mapValues { String(decoding: $0, as: UTF8.self) } == ["secrets_webhook": "w"])
    }
}

import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif
@testable import BatchgateSystem
@testable import BatchgateConfig

/// Secret files held in memory: a path missing from `files` fails as a missing file does.
struct InMemorySecretFiles: SecretFileReader {
    var files: [String: [UInt8]]

    init(_ files: [String: String] = [:]) {
        self.files = files.mapValues { Array($0.utf8) }
    }

    func read(path: String) throws(RegularFile.ReadError) -> [UInt8] {
        guard let bytes = files[path] else { throw RegularFile.ReadError(path: path, problem: .cannotOpen(errno: ENOENT)) }
        return bytes
    }
}

/// A secret holder, as an alert sender's settings will be.
private struct WebhookSettings: Decodable {
    var url: SecretReference

    enum CodingKeys: String, CodingKey, CaseIterable {
        case url
    }

    init(from decoder: any Decoder) throws {
        url = try decoder.settings(keyedBy: CodingKeys.self).decode(SecretReference.self, forKey: .url)
    }
}

private func decodeWebhook(_ yaml: String) throws(ConfigError) -> SecretReference? {
    try ConfigLoader.decode(WebhookSettings.self, yaml: yaml, fileName: "alerts.yaml")?.url
}

@Suite("Secrets")
struct SecretTests {
    static let value = "https://hooks.example.com/T000/B000/XXXXSECRETXXXX"

    @Test func aSecretNeverPrintsItsValue() {
        let secret = Secret(Self.value)
        struct Holder { var name = "webhook"; var secret: Secret }
        var dumped = ""
        dump(secret, to: &dumped)
        var dumpedHolder = ""
        dump(Holder(secret: secret), to: &dumpedHolder)
        let renderings = [
            "\(secret)",
            String(describing: secret),
            String(reflecting: secret),
            "\(Holder(secret: secret))",
            String(reflecting: Holder(secret: secret)),
            "\([secret])",
            "\(Optional(secret) as Any)",
            dumped,
            dumpedHolder,
        ]
        for rendering in renderings {
            #expect(!rendering.contains("SECRET"), "\(rendering)")
        }
        #expect("\(secret)" == "<redacted>")
        #expect(String(reflecting: secret) == "<redacted>")
        #expect(secret.exposedValue == Self.value)
    }

    @Test func anInlineReferenceNeverPrintsItsValue() {
        let reference = SecretReference.inline(Self.value)
        var dumped = ""
        dump(reference, to: &dumped)
        for rendering in ["\(reference)", String(reflecting: reference), dumped, "\(SecretError.empty(reference))"] {
            #expect(!rendering.contains("SECRET"), "\(rendering)")
        }
    }
}

@Suite("Secret resolution")
struct SecretResolutionTests {
    static let files = InMemorySecretFiles([
        "/etc/batchgate/webhook": "https://hooks.example.com/abc\n",
        "/etc/batchgate/two-newlines": "token\n\n",
        "/etc/batchgate/crlf": "token\r\n",
        "/etc/batchgate/no-newline": "token",
        "/etc/batchgate/empty": "",
        "/etc/batchgate/blank": " \n",
        "/run/credentials/batchgate.service/smtp-password": "hunter2\n",
    ])
    static let environment = [
        "CREDENTIALS_DIRECTORY": "/run/credentials/batchgate.service",
        "WEBHOOK_URL": "https://hooks.example.com/env",
        "EMPTY": "",
    ]
    static let resolver = SecretResolver(files: files, environment: environment)

    @Test(arguments: [
        (SecretReference.inline("plain"), "plain"),
        (.file(path: "/etc/batchgate/webhook"), "https://hooks.example.com/abc"),
        (.file(path: "/etc/batchgate/two-newlines"), "token\n"),
        (.file(path: "/etc/batchgate/crlf"), "token"),
        (.file(path: "/etc/batchgate/no-newline"), "token"),
        (.credential(name: "smtp-password"), "hunter2"),
        (.environment(name: "WEBHOOK_URL"), "https://hooks.example.com/env"),
    ])
    func resolves(reference: SecretReference, value: String) throws {
        #expect(try Self.resolver.resolve(reference).exposedValue == value)
    }

    @Test func aCredentialsDirectoryWithATrailingSlashWorks() throws {
        let resolver = SecretResolver(files: Self.files, environment: ["CREDENTIALS_DIRECTORY": "/run/credentials/batchgate.service/"])
        #expect(try resolver.resolve(.credential(name: "smtp-password")).exposedValue == "hunter2")
    }

    @Test(arguments: [
        (SecretReference.file(path: "/etc/batchgate/missing"),
         SecretError.unreadable(.file(path: "/etc/batchgate/missing"),
                                RegularFile.ReadError(path: "/etc/batchgate/missing", problem: .cannotOpen(errno: ENOENT))),
         "secret from file /etc/batchgate/missing: cannot open /etc/batchgate/missing: No such file or directory (errno 2)"),
        (.credential(name: "webhook"),
         .unreadable(.credential(name: "webhook"),
                     RegularFile.ReadError(path: "/run/credentials/batchgate.service/webhook", problem: .cannotOpen(errno: ENOENT))),
         "secret from credential webhook: cannot open /run/credentials/batchgate.service/webhook: "
            + "No such file or directory (errno 2)"),
        (.file(path: "/etc/batchgate/empty"), .empty(.file(path: "/etc/batchgate/empty")),
         "secret from file /etc/batchgate/empty: empty"),
        (.file(path: "/etc/batchgate/blank"), .empty(.file(path: "/etc/batchgate/blank")),
         "secret from file /etc/batchgate/blank: empty"),
        (.environment(name: "SMTP_PASSWORD"), .environmentVariableUnset("SMTP_PASSWORD"),
         "secret from environment variable SMTP_PASSWORD: the variable is not set"),
        (.environment(name: "EMPTY"), .empty(.environment(name: "EMPTY")), "secret from environment variable EMPTY: empty"),
        (.inline(""), .empty(.inline("")), "secret from an inline value: empty"),
    ])
    func failures(reference: SecretReference, expected: SecretError, message: String) {
        #expect(throws: expected) { try Self.resolver.resolve(reference) }
        #expect(expected.description == message)
    }

    @Test func aFoldersCredentialWithoutSystemdPointsAtTheCheckOption() {
        let resolver = SecretResolver(files: Self.files, environment: [:])
        #expect(throws: SecretError.credentialsDirectoryUnset(credential: "secrets_smtp-password")) {
            try resolver.resolve(.credential(name: "secrets_smtp-password"))
        }
        #expect(SecretError.credentialsDirectoryUnset(credential: "secrets_smtp-password").description
            == "secret from credential secrets_smtp-password: CREDENTIALS_DIRECTORY is not set (systemd sets it for the "
            + "service, from its LoadCredential= lines); outside systemd, check with --credentials "
            + "secrets:/etc/batchgate/credentials (as root), or the folder the unit's LoadCredential=secrets: names")
    }

    @Test func aCredentialWithoutSystemdSaysWhatToDo() {
        let resolver = SecretResolver(files: Self.files, environment: [:])
        #expect(throws: SecretError.credentialsDirectoryUnset(credential: "alert-token")) {
            try resolver.resolve(.credential(name: "alert-token"))
        }
        #expect(SecretError.credentialsDirectoryUnset(credential: "alert-token").description
            == "secret from credential alert-token: CREDENTIALS_DIRECTORY is not set; run the daemon under systemd with "
            + "LoadCredential=alert-token:/path/to/file, or write {file: /path/to/file} instead")
    }

    @Test func aFileThatIsNotTextIsRefused() {
        var files = InMemorySecretFiles()
        files.files["/etc/batchgate/binary"] = [0x66, 0xFF, 0xFE, 0x0A]
        let resolver = SecretResolver(files: files, environment: [:])
        #expect(throws: SecretError.notText(.file(path: "/etc/batchgate/binary"))) {
            try resolver.resolve(.file(path: "/etc/batchgate/binary"))
        }
        #expect(SecretError.notText(.file(path: "/x")).description == "secret from file /x: not UTF-8 text")
    }
}

/// `{credential: NAME}` read as systemd would load it from a `LoadCredential=ID:DIR` folder, as
/// `config check --credentials` does outside systemd: real folders, read by ``CredentialSource``.
@Suite("Secrets from a credentials folder")
struct CredentialFolderSecretTests {
    /// A fresh credentials folder holding `files` (path under it → text), removed by the caller.
    private func folder(_ files: [String: String]) throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-credentials-\(UUID().uuidString)")
        for (path, text) in files {
            let url = folder.appendingPathComponent(path)
            try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(text.utf8).write(to: url)
        }
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    /// A resolver reading credentials from `folder` with the ID `secrets`.
    private func resolver(_ folder: URL, environment: [String: String] = [:]) throws -> SecretResolver {
        let source = try CredentialSource(parsing: "secrets:\(folder.path)")
        var resolver = try SecretResolver.system(credentialsFrom: source)
        resolver.environment = environment
        return resolver
    }

    @Test func aFlatAndANestedFileAreReadByTheirCredentialNames() throws {
        let folder = try folder(["smtp-password": "FLAT-SECRET\n", "mail/password": "NESTED-SECRET\n\n"])
        defer { try? FileManager.default.removeItem(at: folder) }
        let resolver = try resolver(folder)
        #expect(try resolver.resolve(.credential(name: "secrets_smtp-password")).exposedValue == "FLAT-SECRET")
        // One trailing newline goes, as from $CREDENTIALS_DIRECTORY: the second stays.
        #expect(try resolver.resolve(.credential(name: "secrets_mail_password")).exposedValue == "NESTED-SECRET\n")
    }

    @Test func credentialsDirectoryIsIgnoredWhenAFolderIsGiven() throws {
        let folder = try folder(["hook": "FROM-FOLDER"])
        let other = try self.folder(["secrets_hook": "FROM-DIRECTORY"])
        defer {
            try? FileManager.default.removeItem(at: folder)
            try? FileManager.default.removeItem(at: other)
        }
        let resolver = try resolver(folder, environment: ["CREDENTIALS_DIRECTORY": other.path])
        #expect(try resolver.resolve(.credential(name: "secrets_hook")).exposedValue == "FROM-FOLDER")
        // And the other way round, the daemon's: only $CREDENTIALS_DIRECTORY.
        let daemon = SecretResolver(files: SystemSecretFileReader(), environment: ["CREDENTIALS_DIRECTORY": other.path])
        #expect(try daemon.resolve(.credential(name: "secrets_hook")).exposedValue == "FROM-DIRECTORY")
        #expect(SecretResolver.system().credentials == .service)
    }

    @Test func aMissingCredentialNamesTheFileItExpected() throws {
        let folder = try folder(["webhook": "https://hooks.example.com/x"])
        defer { try? FileManager.default.removeItem(at: folder) }
        let resolver = try resolver(folder)
        let source = try CredentialSource(parsing: "secrets:\(folder.path)")
        #expect(throws: SecretError.notInSource(credential: "secrets_smtp-password", source: source)) {
            try resolver.resolve(.credential(name: "secrets_smtp-password"))
        }
        #expect(SecretError.notInSource(credential: "secrets_smtp-password", source: source).description
            == "secret from credential secrets_smtp-password: no file smtp-password in \(folder.path)")
        #expect(SecretError.notInSource(credential: "secrets_mail_password", source: source).description
            == "secret from credential secrets_mail_password: no file mail_password in \(folder.path) (nor mail/password)")
        // A name no file of this ID's folder can have.
        #expect(SecretError.notInSource(credential: "webhook", source: source).description
            == "secret from credential webhook: not among the credentials of --credentials secrets:\(folder.path), "
            + "whose names are secrets_FILE for a FILE in \(folder.path)")
    }

    @Test func dotFilesAndDotFoldersAreNotLoaded() throws {
        let folder = try folder([".smtp-password": "DOT-SECRET", ".mail/password": "DOT-FOLDER-SECRET", "webhook": "x"])
        defer { try? FileManager.default.removeItem(at: folder) }
        let resolver = try resolver(folder)
        #expect(resolver.credentials == .source(try CredentialSource(parsing: "secrets:\(folder.path)"),
                                                files: ["secrets_webhook": folder.appendingPathComponent("webhook").path]))
        do {
            _ = try resolver.resolve(.credential(name: "secrets_.smtp-password"))
            Issue.record("a dot file was read")
        } catch {
            #expect(error.description == "secret from credential secrets_.smtp-password: no file .smtp-password in \(folder.path); "
                + "systemd loads no file or folder whose name starts with a dot")
        }
        #expect(throws: SecretError.self) { try resolver.resolve(.credential(name: "secrets_.mail_password")) }
    }

    @Test func aCredentialIsHeldToTheRulesOfASecretFileAndNeverShown() throws {
        let folder = try folder([
            "big": String(repeating: "B", count: SystemSecretFileReader.sizeLimit + 1),
            "exact": String(repeating: "E", count: SystemSecretFileReader.sizeLimit),
            "blank": " \n",
            "binary": "",
        ])
        defer { try? FileManager.default.removeItem(at: folder) }
        try Data([0x53, 0x45, 0xFF, 0x0A]).write(to: folder.appendingPathComponent("binary"))
        let resolver = try resolver(folder)
        #expect(try resolver.resolve(.credential(name: "secrets_exact")).exposedValue.count == SystemSecretFileReader.sizeLimit)
        var messages: [String] = []
        for name in ["secrets_big", "secrets_blank", "secrets_binary"] {
            do {
                _ = try resolver.resolve(.credential(name: name))
                Issue.record("\(name) was read")
            } catch {
                messages.append(error.description)
            }
        }
        #expect(messages == [
            "secret from credential secrets_big: \(folder.path)/big is larger than 64 KiB",
            "secret from credential secrets_blank: empty",
            "secret from credential secrets_binary: not UTF-8 text",
        ])
        #expect(!messages.joined().contains("BBB"))
    }

    @Test func aFolderSystemdWouldRefuseIsAnError() throws {
        let folder = try folder(["host:port": "x"])
        defer { try? FileManager.default.removeItem(at: folder) }
        #expect(throws: CredentialError.invalidName(path: folder.appendingPathComponent("host:port").path, name: "secrets_host:port")) {
            try SecretResolver.system(credentialsFrom: CredentialSource(parsing: "secrets:\(folder.path)"))
        }
        let missing = folder.appendingPathComponent("none").path
        do {
            _ = try SecretResolver.system(credentialsFrom: CredentialSource(parsing: "secrets:\(missing)"))
            Issue.record("a missing folder was read")
        } catch {
            #expect(error.isMissing(folder: missing))
        }
    }
}

@Suite("Secret files on disk")
struct SystemSecretFileReaderTests {
    /// A fresh folder under the temporary directory, removed by the caller.
    private func makeFolder() throws -> URL {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-secret-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        return folder
    }

    @Test func readsACredentialFromTheCredentialsDirectory() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        try "s3cret\n".write(to: folder.appendingPathComponent("alert-token"), atomically: true, encoding: .utf8)

        let resolver = SecretResolver(files: SystemSecretFileReader(), environment: ["CREDENTIALS_DIRECTORY": folder.path])
        #expect(try resolver.resolve(.credential(name: "alert-token")).exposedValue == "s3cret")
    }

    @Test func reportsErrnoAndRefusesAFolder() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let reader = SystemSecretFileReader()
        let missing = folder.appendingPathComponent("missing").path

        #expect(throws: RegularFile.ReadError(path: missing, problem: .cannotOpen(errno: ENOENT))) { try reader.read(path: missing) }
        #expect(throws: RegularFile.ReadError(path: folder.path, problem: .notRegular("a folder"))) {
            try reader.read(path: folder.path)
        }
    }

    @Test func refusesAFileAboveTheLimit() throws {
        let folder = try makeFolder()
        defer { try? FileManager.default.removeItem(at: folder) }
        let big = folder.appendingPathComponent("big")
        try Data(repeating: 0x61, count: SystemSecretFileReader.sizeLimit + 1).write(to: big)
        let exact = folder.appendingPathComponent("exact")
        try Data(repeating: 0x61, count: SystemSecretFileReader.sizeLimit).write(to: exact)

        #expect(throws: RegularFile.ReadError(path: big.path, problem: .tooLarge(limit: SystemSecretFileReader.sizeLimit))) {
            try SystemSecretFileReader().read(path: big.path)
        }
        #expect(RegularFile.ReadError(path: big.path, problem: .tooLarge(limit: SystemSecretFileReader.sizeLimit)).description
            == "\(big.path) is larger than 64 KiB")
        #expect(try SystemSecretFileReader().read(path: exact.path).count == SystemSecretFileReader.sizeLimit)
    }
}

@Suite("Secret references in YAML")
struct SecretReferenceDecodingTests {
    @Test(arguments: [
        ("url: https://hooks.example.com/abc", SecretReference.inline("https://hooks.example.com/abc")),
        ("url: {file: /etc/batchgate/webhook}", .file(path: "/etc/batchgate/webhook")),
        ("url:\n  file: webhook-url\n", .file(path: "webhook-url")),
        ("url: {credential: webhook-url}", .credential(name: "webhook-url")),
        ("url: {env: WEBHOOK_URL}", .environment(name: "WEBHOOK_URL")),
    ])
    func decodes(yaml: String, expected: SecretReference) throws {
        #expect(try decodeWebhook(yaml) == expected)
    }

    @Test(arguments: [
        ("url: {fiel: /etc/webhook}", 1, "url.fiel", "unknown setting; did you mean file?"),
        ("url:\n  file: a\n  envv: B\n", 3, "url.envv", "unknown setting; did you mean env?"),
        ("url: {file: a, env: B}", 1, "url",
         "must name one source, {file: PATH}, {credential: NAME} or {env: NAME}; found file and env"),
        ("url: {}", 1, "url", "must name one source, {file: PATH}, {credential: NAME} or {env: NAME}; found none"),
        ("url: [a]", 1, "url", "must be a secret or one of {file: PATH}, {credential: NAME} or {env: NAME}; found a list"),
        ("url:", 1, "url", "must be a secret or one of {file: PATH}, {credential: NAME} or {env: NAME}; found nothing"),
        ("url: \"\"", 1, "url", "must be a secret, or one of {file: PATH}, {credential: NAME} or {env: NAME}; found \"\""),
        ("url: {credential: ../etc/shadow}", 1, "url.credential",
         "must be a credential name: a file name without /; found \"../etc/shadow\""),
        ("url: {env: A=B}", 1, "url.env", "must be the name of an environment variable, such as SMTP_PASSWORD; found \"A=B\""),
        ("url: {file: \"\"}", 1, "url.file",
         "must be the path of the file holding the secret, absolute or relative to the config file's folder; found \"\""),
    ])
    func refuses(yaml: String, line: Int, key: String, reason: String) throws {
        do {
            _ = try decodeWebhook(yaml)
            Issue.record("\(yaml.debugDescription) decoded")
        } catch {
            #expect(error == ConfigError(file: "alerts.yaml", line: line, key: key, reason: reason))
        }
    }

    @Test(arguments: [
        ("abc", SecretReference.inline("abc")), ("{file: /etc/x}", .file(path: "/etc/x")),
        ("{credential: token}", .credential(name: "token")), ("{env: TOKEN}", .environment(name: "TOKEN")),
    ])
    func everyFormOfReferenceIsRead(written: String, reference: SecretReference) throws {
        #expect(try decodeWebhook("url: \(written)\n") == reference)
    }

    @Test func relativeFilePathsResolveAgainstTheConfigFolder() {
        #expect(SecretReference.file(path: "webhook").resolvingRelativePath(against: "/etc/batchgate")
            == .file(path: "/etc/batchgate/webhook"))
        #expect(SecretReference.file(path: "/run/x").resolvingRelativePath(against: "/etc/batchgate") == .file(path: "/run/x"))
        #expect(SecretReference.credential(name: "x").resolvingRelativePath(against: "/etc") == .credential(name: "x"))
    }
}

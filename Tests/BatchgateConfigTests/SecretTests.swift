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

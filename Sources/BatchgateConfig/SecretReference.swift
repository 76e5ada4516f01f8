/// Where a secret comes from, as a config file writes it:
///
/// ```yaml
/// webhook: {file: /etc/batchgate/webhook-url}   # the file's text, less one trailing newline
/// token: {credential: alert-token}              # $CREDENTIALS_DIRECTORY/alert-token (systemd LoadCredential=)
/// password: {env: SMTP_PASSWORD}                # an environment variable
/// other: https://example.com/hook               # the value itself, written inline
/// ```
///
/// Its descriptions never show an inline value, so a reference can be logged and put in errors.
public enum SecretReference: Decodable, Sendable, Equatable, CustomStringConvertible, CustomDebugStringConvertible,
    CustomReflectable
{
    /// The value written in the config file itself.
    case inline(String)
    /// A file holding the value.
    case file(path: String)
    /// A systemd credential: the file `NAME` in `$CREDENTIALS_DIRECTORY`.
    case credential(name: String)
    /// An environment variable holding the value.
    case environment(name: String)

    /// `file /path`, `credential NAME`, `environment variable NAME` or `an inline value`.
    public var description: String {
        switch self {
        case .inline: "an inline value"
        case .file(let path): "file \(path)"
        case .credential(let name): "credential \(name)"
        case .environment(let name): "environment variable \(name)"
        }
    }

    /// The same as ``description``: never the inline value.
    public var debugDescription: String { description }

    /// A mirror with no children, so that `dump` and reflection do not reach an inline value.
    public var customMirror: Mirror { Mirror(self, children: [:]) }

    /// This reference with a relative file path resolved against `baseDirectory`, normally the
    /// config file's folder. Other references are returned unchanged.
    func resolvingRelativePath(against baseDirectory: String) -> SecretReference {
        guard case .file(let path) = self else { return self }
        return .file(path: FilePaths.resolve(path, against: baseDirectory))
    }

    enum CodingKeys: String, CodingKey, CaseIterable {
        case file, credential, env
    }

    private static let forms = "{file: PATH}, {credential: NAME} or {env: NAME}"

    /// Reads a plain string as ``inline(_:)`` or a one-key mapping (`file`, `credential` or `env`).
    /// - Throws: `ConfigProblem` for an unknown key, more or fewer than one source, or an empty value.
    public init(from decoder: any Decoder) throws {
        switch decoder.writtenValue() {
        case .text:
            self = .inline(try SettingFormat.text("a secret, or one of \(Self.forms)").read(from: decoder))
        case .mapping:
            let sources = try decoder.settings(keyedBy: CodingKeys.self)
            guard sources.allKeys.count == 1, let source = sources.allKeys.first else {
                let found = sources.allKeys.isEmpty ? "none" : sources.allKeys.map(\.stringValue).joined(separator: " and ")
                throw ConfigProblem(at: decoder.codingPath, "must name one source, \(Self.forms); found \(found)")
            }
            let value = try sources.superDecoder(forKey: source)
            switch source {
            case .file: self = .file(path: try SettingFormat.path(to: "the file holding the secret").read(from: value))
            case .credential: self = .credential(name: try SettingFormat.credentialName.read(from: value))
            case .env: self = .environment(name: try SettingFormat.environmentVariableName.read(from: value))
            }
        case .nothing, .list:
            throw ConfigProblem(
                at: decoder.codingPath,
                "must be a secret or one of \(Self.forms); found \(decoder.writtenValue().described)"
            )
        }
    }
}

extension SettingFormat where Value == String {
    /// A systemd credential name: a file name in `$CREDENTIALS_DIRECTORY`.
    static var credentialName: Self {
        Self(expected: "a credential name as given to systemd's LoadCredential=, such as alert-token") {
            text throws(SettingRefusal) in
            guard !text.allSatisfy(\.isWhitespace) else { throw .unreadable }
            guard !text.contains("/"), !text.contains("\0"), text != ".", text != ".." else {
                throw .notAllowed("a credential name: a file name without /")
            }
            return text
        }
    }

    static var environmentVariableName: Self {
        Self(expected: "the name of an environment variable, such as SMTP_PASSWORD") { text throws(SettingRefusal) in
            guard !text.isEmpty, !text.contains("="), !text.contains("\0"), !text.allSatisfy(\.isWhitespace) else {
                throw .unreadable
            }
            return text
        }
    }
}

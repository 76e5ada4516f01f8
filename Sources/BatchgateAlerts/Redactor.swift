import BatchgateConfig
import BatchgateSystem
/// Takes a sink's secrets out of what its endpoint answered, before the answer is logged, kept in
/// a dead letter or printed by `alert test`.
///
/// An endpoint that echoes the request (a debugging receiver, a proxy's error page, a desk that
/// quotes what it refused) sends back the `Authorization` header and the webhook URL whose path
/// *is* the secret; the journal and `outbox/dead/` are read by more people than the credential
/// files. ``LibcurlAlertTransport/send(_:to:options:)`` runs every answer through the sink's
/// redactor, so the log, the outbox and `alert test` only ever see the scrubbed text.
///
/// Pure: built from a sink's settings, applied to text.
struct Redactor: Sendable, Equatable {
    /// What stands in for a secret.
    static let marker = "[redacted]"

    /// Secrets (and parts of them) shorter than this are not scrubbed: `abc` or `1.0` would be
    /// cut out of ordinary words and numbers all over an answer, and a secret that short protects
    /// nothing anyway.
    static let minimumLength = 4

    /// Every text replaced, as UTF-8, longest first: where two start at the same place, the longer
    /// (a whole URL) goes rather than a part of it (its token).
    let forms: [[UInt8]]

    /// The longest form in UTF-8 bytes: an answer cut short must be cut at least this far after
    /// the end of what is kept, so that a secret running over the end is still seen whole.
    var longestForm: Int { forms.first?.count ?? 0 }

    /// A redactor for these secret values and each form an echo sends them back in.
    init(secrets: [String]) {
        var forms = Set<[UInt8]>()
        for secret in secrets where secret.utf8.count >= Self.minimumLength {
            for form in Self.echoedForms(of: secret) { forms.insert(Array(form.utf8)) }
        }
        self.forms = forms.sorted { $0.count != $1.count ? $0.count > $1.count : $0.lexicographicallyPrecedes($1) }
    }

    /// A redactor for every secret of `sink`: the URL and the tokens in its path, query and
    /// user-info; each header value and the token after its scheme (`Bearer …`); the signing key;
    /// the SMTP user name and password, also base64-encoded as AUTH PLAIN, AUTH LOGIN and Basic
    /// authentication send them.
    init(sink: DaemonConfig.AlertSink, secrets sinkSecrets: SinkSecrets) {
        var secrets = Self.urlSecrets(sinkSecrets.url.exposedValue)
        for header in sink.headers {
            guard let value = sinkSecrets.headers[header.name]?.exposedValue.trimmingSpaces else { continue }
            secrets.append(value)
            // `Bearer <token>`, `Token <token>`, `Basic <base64>`: the credential alone, as an
            // echo quoting one field (`token=…`) would show it.
            if let space = value.firstIndex(of: " ") { secrets.append(String(value[space...]).trimmingSpaces) }
        }
        if let key = sinkSecrets.signingKey { secrets.append(key.exposedValue) }
        if let email = sink.email {
            let user = email.username, password = sinkSecrets.password?.exposedValue
            secrets += [user, password].compactMap { $0 }
            secrets += Self.credentialEncodings(user: user, password: password)
        }
        self.init(secrets: secrets)
    }

    /// `text` with every form of every secret, and the user-info of any URL, replaced by
    /// ``marker``. Text that holds none comes back as it was.
    func scrub(_ text: String) -> String {
        var bytes = Array(text.utf8)
        var changed = false
        if !forms.isEmpty, let replaced = replacingForms(in: bytes) {
            bytes = replaced
            changed = true
        }
        if let replaced = Self.removingUserInfo(in: bytes) {
            bytes = replaced
            changed = true
        }
        // Forms are whole UTF-8 sequences and start on a scalar, so what is left is valid UTF-8.
        return changed ? String(decoding: bytes, as: UTF8.self) : text
    }

    /// The result with its answer and its failure or refusal message scrubbed.
    func scrub(_ result: AlertAttemptResult) -> AlertAttemptResult {
        var result = result
        result.answer = scrub(result.answer)
        switch result.attempt {
        case .failed(let message): result.attempt = .failed(scrub(message))
        case .refused(let message): result.attempt = .refused(scrub(message))
        case .refusedContent(let message): result.attempt = .refusedContent(scrub(message))
        case .answered: break
        }
        return result
    }

    // MARK: Replacing

    /// One pass from the left; at each place the longest form that starts there goes. Nil when
    /// nothing matched.
    private func replacingForms(in text: [UInt8]) -> [UInt8]? {
        var output: [UInt8] = []
        var copied = 0  // text before this is in output (only once something matched)
        var index = 0
        var matched = false
        let marker = Array(Self.marker.utf8)
        while index < text.count {
            let first = text[index]
            var length = 0
            for form in forms where form[0] == first && form.count <= text.count - index {
                if text[index..<(index + form.count)].elementsEqual(form) {
                    length = form.count
                    break
                }
            }
            guard length > 0 else {
                index += 1
                continue
            }
            if !matched { output.reserveCapacity(text.count) }
            matched = true
            output += text[copied..<index]
            output += marker
            index += length
            copied = index
        }
        guard matched else { return nil }
        output += text[copied...]
        return output
    }

    /// Replaces the user-info of every `scheme://user:password@host` (also JSON-escaped,
    /// `scheme:\/\/…`) with ``marker``: whoever's URL an answer quotes, its password is no
    /// business of the log. Nil when there is none.
    static func removingUserInfo(in text: [UInt8]) -> [UInt8]? {
        let colon = UInt8(ascii: ":"), slash = UInt8(ascii: "/"), backslash = UInt8(ascii: "\\"), at = UInt8(ascii: "@")
        var output: [UInt8] = []
        var copied = 0
        var matched = false
        var index = 0
        while index < text.count {
            guard text[index] == colon else { index += 1; continue }
            // After `:` comes `//` or `\/\/`: the authority starts after it.
            var start = index + 1
            if text.count - start >= 2, text[start] == slash, text[start + 1] == slash {
                start += 2
            } else if text.count - start >= 4, text[start] == backslash, text[start + 1] == slash,
                      text[start + 2] == backslash, text[start + 3] == slash {
                start += 4
            } else {
                index += 1
                continue
            }
            // The authority ends at the path, query or fragment, or at what cannot be in a URL
            // (space, quotes, brackets, a backslash of JSON's `\/`).
            var end = start
            var lastAt: Int?
            while end < text.count, !Self.endsAuthority(text[end]) {
                if text[end] == at { lastAt = end }
                end += 1
            }
            if let lastAt, lastAt > start {
                matched = true
                output += text[copied..<start]
                output += Array(marker.utf8)
                copied = lastAt
            }
            index = end
        }
        guard matched else { return nil }
        output += text[copied...]
        return output
    }

    private static func endsAuthority(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "/"), UInt8(ascii: "?"), UInt8(ascii: "#"), UInt8(ascii: "\\"), UInt8(ascii: "\""),
             UInt8(ascii: "'"), UInt8(ascii: "<"), UInt8(ascii: ">"), UInt8(ascii: "`"), UInt8(ascii: " "), 0..<0x20, 0x7F:
            true
        default:
            false
        }
    }

    // MARK: The forms of a secret

    /// The secret as it is, JSON-escaped (`\/` for `/`, as many JSON writers do) and
    /// percent-encoded with upper- and lower-case hex (a URL or form body quoting it).
    static func echoedForms(of secret: String) -> [String] {
        var forms = [secret, jsonEscaped(secret)]
        let encoded = URIComponent.percentEncoded(secret)
        forms += [encoded, encoded.lowercasedPercentHex]
        return forms
    }

    static func jsonEscaped(_ text: String) -> String {
        var output = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "/": output += "\\/"
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    /// `%XX` sequences decoded (for the parts of a URL, which may come encoded); nil when one is
    /// not valid hex or the result is not UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        guard text.contains("%") else { return String(text) }
        var output: [UInt8] = []
        var bytes = Array(text.utf8)[...]
        while let byte = bytes.popFirst() {
            if byte == UInt8(ascii: "%") {
                guard bytes.count >= 2, let high = Hex.value(of: bytes.removeFirst()), let low = Hex.value(of: bytes.removeFirst()) else { return nil }
                output.append(high << 4 | low)
            } else {
                output.append(byte)
            }
        }
        return String(validating: output, as: UTF8.self)
    }


    /// How a user name and password cross the wire, base64-encoded: Basic authentication
    /// (`user:password`), SMTP AUTH PLAIN (`\0user\0password`) and AUTH LOGIN (each alone).
    static func credentialEncodings(user: String?, password: String?) -> [String] {
        var encoded: [String] = []
        if let password {
            encoded.append(Base64.string(Array(password.utf8)))
            if let user {
                encoded.append(Base64.string(Array("\(user):\(password)".utf8)))
                encoded.append(Base64.string(Array("\u{0}\(user)\u{0}\(password)".utf8)))
            }
        }
        if let user { encoded.append(Base64.string(Array(user.utf8))) }
        // A base64 form shorter than the minimum comes from a secret too short to scrub anyway.
        return encoded
    }

    // MARK: The secrets of a URL

    /// The URL whole, and what in it is a secret on its own: the user name and password (and
    /// Basic authentication of them, which libcurl sends for an http URL carrying them), the
    /// query, token-like query values, and token-like path segments (a Slack webhook URL's
    /// `/services/T…/B…/<token>`, a Teams workflow id). Path words such as `services`,
    /// `triggers` or `invoke` are no secret and stay.
    static func urlSecrets(_ url: String) -> [String] {
        var secrets = [url]
        guard let schemeEnd = url.range(of: "://") else { return secrets }
        var rest = url[schemeEnd.upperBound...]
        let authorityEnd = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
        let authority = rest[..<authorityEnd]
        if let at = authority.lastIndex(of: "@") {
            let userInfo = authority[..<at]
            let parts = userInfo.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let user = parts.first.flatMap { percentDecoded($0) }
            let password = parts.count > 1 ? percentDecoded(parts[1]) : nil
            secrets.append(String(userInfo))
            secrets += [user, password].compactMap { $0 }
            secrets += credentialEncodings(user: user, password: password)
        }
        rest = rest[authorityEnd...]
        if let hash = rest.firstIndex(of: "#") { rest = rest[..<hash] }
        var path = rest
        if let question = rest.firstIndex(of: "?") {
            path = rest[..<question]
            let query = rest[rest.index(after: question)...]
            secrets.append(String(query))
            for item in query.split(separator: "&") {
                let pair = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard pair.count == 2 else { continue }
                let name = pair[0].lowercased()
                let secretByName = ["sig", "token", "key", "secret", "pass", "auth", "code"].contains { name.contains($0) }
                for value in [String(pair[1]), percentDecoded(pair[1])].compactMap({ $0 }) where secretByName || isTokenLike(value) {
                    secrets.append(value)
                }
            }
        }
        for segment in path.split(separator: "/") {
            for value in [String(segment), percentDecoded(segment)].compactMap({ $0 }) where isTokenLike(value) {
                secrets.append(value)
            }
        }
        return secrets
    }

    /// Whether a part of a URL looks like a generated token rather than a word: 8 characters or
    /// more with a digit among them (`T0AAAAAAA`, a GUID), or 16 or more of anything.
    static func isTokenLike(_ text: String) -> Bool {
        let count = text.unicodeScalars.count
        return count >= 16 || (count >= 8 && text.unicodeScalars.contains { ("0"..."9").contains($0) })
    }
}

extension String {
    /// Without leading and trailing spaces.
    fileprivate var trimmingSpaces: String {
        var text = Substring(self)
        while text.first == " " { text.removeFirst() }
        while text.last == " " { text.removeLast() }
        return String(text)
    }

    /// `%2F` as `%2f`: some encoders write lower-case hex.
    fileprivate var lowercasedPercentHex: String {
        var output = ""
        var afterPercent = 0
        for scalar in unicodeScalars {
            if afterPercent > 0, ("A"..."F").contains(scalar) {
                output.unicodeScalars.append(Unicode.Scalar(scalar.value + 0x20)!)
            } else {
                output.unicodeScalars.append(scalar)
            }
            afterPercent = scalar == "%" ? 2 : max(0, afterPercent - 1)
        }
        return output
    }
}

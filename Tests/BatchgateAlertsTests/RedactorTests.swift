import Foundation
import Testing
import TestSupport
import BatchgateHTTP
@testable import BatchgateConfig
@testable import BatchgateAlerts

/// A sink's secrets taken out of what its endpoint answered, in the forms an endpoint that echoes
/// the request sends them back in.
@Suite("Redacting answers", .serialized)
struct RedactorTests {
    static let slackToken = "fakeSlackToken1234567890"
    static let slackURL = "https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/" + slackToken
    static let teamsSig = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-abcd"
    static let teamsURL = "https://prod-12.westus.logic.azure.com:443/workflows/0123456789abcdef0123456789abcdef/triggers/manual/paths/invoke"
        + "?api-version=2016-06-01&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig=" + teamsSig
    static let bearer = "desk-token-0123456789"
    static let signingKey = "sign/key+value=="

    static let desk = DaemonConfig.AlertSink(
        name: "desk", type: .webhook, url: .inline("https://desk.example.com/api/batchgate"),
        headers: [.init(name: "Authorization", value: .inline("Bearer " + bearer)),
                  .init(name: "X-Short", value: .inline("abc"))],
        signing: .init(secret: .inline(signingKey)))

    @Test func aSlackURLIsRemovedWholeAndItsTokenInTheRequestLine() {
        let redactor = Redactor(sink: DaemonConfig.AlertSink(name: "chat", type: .slack, url: .inline(Self.slackURL)))
        let answer = """
            POST /services/T0AAAAAAA/B0BBBBBBB/\(Self.slackToken) HTTP/1.1 Host: hooks.slack.com \
            {"url": "\(Self.slackURL.replacing("/", with: "\\/"))", "next": "\(percentEncoded(Self.slackURL))", \
            "whole": "\(Self.slackURL)"}
            """
        let scrubbed = redactor.scrub(answer)
        #expect(!scrubbed.contains(Self.slackToken), "\(scrubbed)")
        #expect(!scrubbed.contains("T0AAAAAAA") && !scrubbed.contains("B0BBBBBBB"), "\(scrubbed)")
        #expect(!scrubbed.contains("hooks.slack.com\\/services"), "the JSON-escaped URL goes whole")
        #expect(scrubbed.hasPrefix("POST /services/[redacted]/[redacted]/[redacted] HTTP/1.1 Host: hooks.slack.com"), "\(scrubbed)")
    }

    @Test func aTeamsSignatureInTheQueryIsRemoved() {
        let redactor = Redactor(sink: DaemonConfig.AlertSink(name: "team", type: .teams, url: .inline(Self.teamsURL)))
        let answer = #"{"error": {"code": "InvalidRequest", "query": {"api-version": "2016-06-01", "sig": "\#(Self.teamsSig)"}, "#
            + #""path": "/workflows/0123456789abcdef0123456789abcdef/triggers/manual/paths/invoke"}}"#
        let scrubbed = redactor.scrub(answer)
        #expect(!scrubbed.contains(Self.teamsSig), "\(scrubbed)")
        #expect(!scrubbed.contains("0123456789abcdef0123456789abcdef"), "the workflow id is a token of the path")
        #expect(scrubbed.contains(#""code": "InvalidRequest""#), "ordinary words stay: \(scrubbed)")
        #expect(scrubbed.contains("/triggers/manual/paths/invoke"), "path words that are no token stay: \(scrubbed)")
    }

    @Test func headerValuesTheirTokensAndTheSigningKeyAreRemovedInEveryForm() {
        let redactor = Redactor(sink: Self.desk)
        let answer = """
            Authorization: Bearer \(Self.bearer) | {"authorization": "Bearer \(Self.bearer)"} | token=\(Self.bearer) | \
            key \(Self.signingKey) | json "sign\\/key+value==" | query sign%2Fkey%2Bvalue%3D%3D | lower sign%2fkey%2bvalue%3d%3d | \
            abcdef
            """
        let scrubbed = redactor.scrub(answer)
        #expect(!scrubbed.contains(Self.bearer), "\(scrubbed)")
        #expect(!scrubbed.contains("value=="), "\(scrubbed)")
        #expect(!scrubbed.lowercased().contains("sign%2fkey"), "\(scrubbed)")
        #expect(!scrubbed.contains("sign\\/key"), "\(scrubbed)")
        #expect(scrubbed.hasPrefix("Authorization: [redacted] | {\"authorization\": \"[redacted]\"} | token=[redacted] |"), "\(scrubbed)")
        // A 3-character value would turn up inside ordinary words: it is left alone.
        #expect(scrubbed.hasSuffix("abcdef"), "\(scrubbed)")
    }

    @Test func smtpCredentialsAreRemovedAsIsAndAsTheyGoOverTheWire() {
        let user = "batchgate@plant.example"
        let password = "pa55:word/x"
        let redactor = Redactor(sink: DaemonConfig.AlertSink(
            name: "mail", type: .email, url: .inline("smtps://mail.plant.example:465"),
            email: .init(from: "batchgate@plant.example", to: ["qa@plant.example"], username: user, password: .inline(password))))
        let basic = Data("\(user):\(password)".utf8).base64EncodedString()
        let plain = Data("\u{0}\(user)\u{0}\(password)".utf8).base64EncodedString()
        let login = Data(password.utf8).base64EncodedString()
        let answer = "535 5.7.8 bad credentials \(basic) / AUTH PLAIN \(plain) / AUTH LOGIN \(login) / \(password) for \(user)"
        let scrubbed = redactor.scrub(answer)
        for secret in [basic, plain, login, password, user] {
            #expect(!scrubbed.contains(secret), "\(secret) in \(scrubbed)")
        }
        #expect(scrubbed.hasPrefix("535 5.7.8 bad credentials [redacted]"), "\(scrubbed)")
    }

    @Test func userInfoInAnyURLIsRemoved() {
        let redactor = Redactor(sink: DaemonConfig.AlertSink(name: "desk", type: .webhook, url: .inline("https://desk.example.com/x")))
        let answer = #"see https://alice:hunter2@proxy.example/x, "https:\/\/bob:pw@cache.example\/y" and ftp://carol@files.example; "#
            + "mail <qa@plant.example>, mailto:qa@plant.example, https://plain.example/a@b"
        #expect(redactor.scrub(answer) == #"see https://[redacted]@proxy.example/x, "https:\/\/[redacted]@cache.example\/y" and ftp://[redacted]@files.example; "#
            + "mail <qa@plant.example>, mailto:qa@plant.example, https://plain.example/a@b")
    }

    @Test func anAnswerWithNoSecretIsLeftAsItIs() {
        let redactor = Redactor(sink: Self.desk)
        let answer = "HTTP 400: {\"ok\": false, \"error\": \"invalid_payload\"} – é 🌿"
        #expect(redactor.scrub(answer) == answer)
        #expect(Redactor(secrets: []).scrub(answer) == answer)
    }

    @Test func theDeliveryAnswerIsScrubbedBeforeAnyoneSeesIt() throws {
        // The token starts 10 bytes before the end of the KiB kept of an answer: it is still
        // removed whole, not kept cut in half where no form of it matches any more.
        let server = try LoopbackHTTPServer()
        let padding = String(repeating: "x", count: HTTPTransfer.keptBodyBytes - "Bearer ".count - 10)
        server.reply(with: .answer(status: 400, body: padding + "Bearer \(Self.bearer) and more after it"))
        var sink = Self.desk
        sink.url = .inline(server.url)
        let result = LibcurlAlertTransport(host: "plant-1").send(AlertDelivery(id: "a1", body: Array("{}".utf8)), to: sink, secrets: sink.inlineSecrets,
                                                                options: DaemonConfig.Alerts())
        #expect(result.answer.hasPrefix("HTTP 400: xxx"), "\(result.answer.prefix(40))")
        #expect(!result.answer.contains("desk-token"), "\(result.answer.suffix(60))")
        #expect(result.answer.contains("x[redacted]"), "\(result.answer.suffix(60))")
        #expect(result.answer.utf8.count <= HTTPTransfer.keptBodyBytes + 64)
    }

    func percentEncoded(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? text
    }
}

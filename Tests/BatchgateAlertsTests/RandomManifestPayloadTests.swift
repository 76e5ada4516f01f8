import Foundation
import Testing
import TestSupport
import BatchgateCore
@testable import BatchgateConfig
@testable import BatchgateAlerts

/// "No payload built from any manifest is refused": the hostile cases are the ones we thought
/// of; these are manifests no one chose. A seeded generator writes manifests of random size from
/// random text (decomposed accents, ZWJ emoji, right-to-left scripts, control characters, line
/// separators, the markup characters of every sink, long runs), the real checker evaluates them,
/// and every Slack, Teams and e-mail payload of each (alert, minimal version, and digests of
/// them) goes through the receivers' own validators. A failure names the seed:
/// `BATCHGATE_PAYLOAD_SEED=<seed> swift test --filter RandomManifestPayload` replays it.
@Suite("Payloads from random manifests")
struct RandomManifestPayloadTests {
    /// The seeds tried on every run, and one more from the environment.
    static var seeds: [UInt64] {
        var seeds: [UInt64] = [1, 2, 3, 0x5EED_BA7C]
        if let text = ProcessInfo.processInfo.environment["BATCHGATE_PAYLOAD_SEED"], let seed = UInt64(text) { seeds = [seed] }
        return seeds
    }

    /// Twelve alerts a seed, and three digests of their lines.
    static func cases(seed: UInt64) -> (messages: [(name: String, message: AlertMessage)], digests: [(name: String, digest: AlertDigest)]) {
        var random = SplitMix64(seed: seed)
        var messages: [(String, AlertMessage)] = []
        for index in 0..<12 {
            let packageCount = [0, 1, 2, 5, 40, 300][random.below(6)]
            let packages = (0..<packageCount).map { _ in RandomText.package(&random) }
            let file = RandomText.fileName(&random)
            var report = HostileAlerts.report(file: file, packages: packages)
            // Every other alert with failed pre-flight checks of random text, on random packages
            // and on the manifest.
            if index % 2 == 1 {
                for _ in 0..<random.below(3) {
                    report.checks.append(RandomText.checkFinding(&random))
                }
                for position in report.packages.indices where random.below(3) == 0 {
                    report.packages[position].checks = (0...random.below(3)).map { _ in RandomText.checkFinding(&random) }
                }
            }
            messages.append(("seed \(seed) #\(index) (\(packageCount) packages)", HostileAlerts.alert(report)))
        }
        let lines = messages.map(\.1.digestLine)
        let many = (0..<250).map { _ in RandomText.text(&random, length: random.below(400)) }
        let digests: [(String, AlertDigest)] = [
            ("seed \(seed) digest of the alerts", AlertDigest(lines: lines, host: "plant-1", time: "2026-11-27T01:00:00.000Z",
                                                             facility: RandomText.text(&random, length: 60))),
            ("seed \(seed) digest of 250 random lines", AlertDigest(lines: many, host: "plant-1", time: "2026-11-27T01:00:00.000Z", facility: nil)),
            ("seed \(seed) digest of one line", AlertDigest(lines: [RandomText.text(&random, length: 5_000)], host: "plant-1",
                                                           time: "2026-11-27T01:00:00.000Z", facility: nil)),
        ]
        return (messages, digests)
    }

    @Test(arguments: seeds)
    func everyPayloadPassesTheReceiversValidators(seed: UInt64) throws {
        let (messages, digests) = Self.cases(seed: seed)
        var slack: [(label: String, body: [UInt8])] = []
        var teams: [(label: String, body: [UInt8])] = []
        var mails: [PythonMailReader.Expectation] = []
        let settings = DaemonConfig.AlertSink.Email(from: "batchgate@plant.example.com", to: ["compliance@plant.example.com"])
        func mail(_ name: String, _ rendered: SinkMessage) {
            let delivery = AlertDelivery(id: "3f9c2a71d04be815-compliance-mail", body: rendered.body, subject: rendered.subject)
            let message = Sinks.Email.message(for: delivery, settings: settings, host: "plant-1", date: 1_795_000_000)
            mails.append(PythonMailReader.Expectation(name: name, message: message))
        }
        for (name, message) in messages {
            slack += [("alert \(name)", Sinks.Slack.alert(message).body), ("fallback \(name)", Sinks.Slack.fallback(message).body)]
            teams += [("alert \(name)", Sinks.Teams.alert(message).body), ("fallback \(name)", Sinks.Teams.fallback(message).body)]
            mail("alert \(name)", Sinks.Email.alert(message))
            mail("fallback \(name)", Sinks.Email.fallback(message))
        }
        for (name, digest) in digests {
            slack.append((name, Sinks.Slack.digest(digest).body))
            teams.append((name, Sinks.Teams.digest(digest).body))
            mail(name, Sinks.Email.digest(digest))
        }

        let slackOutcome = try SlackCheck.run(slack)
        #expect(slackOutcome.status == 0, "seed \(seed): slack_check.py:\n\(slackOutcome.output)")
        let teamsOutcome = try AdaptiveCardCheck.run(teams)
        #expect(teamsOutcome.status == 0, "seed \(seed): adaptive_card_check.py:\n\(teamsOutcome.output)")
        for (label, body) in teams {
            #expect(body.count <= Sinks.Teams.bodyLimit, "seed \(seed): \(label) is \(body.count) bytes")
        }
        for expectation in mails {
            let (lengths, bare) = MailMessageTests.lineLengths(expectation.raw)
            #expect(lengths.max()! <= 78 && bare == 0 && expectation.raw.allSatisfy { $0 < 0x80 },
                    "seed \(seed): \(expectation.name): longest line \(lengths.max()!), \(bare) bare line ends")
        }
        let mailProblems = try PythonMailReader.problems(mails)
        #expect(mailProblems.isEmpty, "seed \(seed): \(mailProblems.joined(separator: "\n"))")
    }
}

/// SplitMix64: a small seeded generator, so that a failing case can be replayed from its seed.
struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A number in 0..<bound.
    mutating func below(_ bound: Int) -> Int { Int(next() % UInt64(max(bound, 1))) }
}

/// Random text from the pieces that trouble receivers.
enum RandomText {
    /// Each a small alphabet: a piece of text draws from one at a time, in runs.
    static let alphabets: [[String]] = [
        Array("abcdefghijklmnopqrstuvwxyz ABCDEFGHIJKLMNOPQRSTUVWXYZ 0123456789 -.,;").map(String.init),
        ["e\u{301}", "a\u{308}", "o\u{302}\u{323}", "\u{300}", "\u{36F}", "n\u{303}"],
        ["👨‍👩‍👧‍👦", "🌿", "🔥", "🏳️‍🌈", "👍🏽", "\u{FE0F}", "\u{200D}"],
        ["مرحبا", "שלום", "\u{202E}", "\u{200F}", "\u{2066}"],
        ["大麻", "濃縮物", "한국어", "カート"],
        ["\u{0}", "\u{7}", "\t", "\r", "\n", "\r\n", "\u{1B}[31m", "\u{7F}", "\u{85}", "\u{2028}", "\u{2029}", "\u{FEFF}"],
        ["*", "_", "~", "`", "```", "[", "]", "(", ")", "<", ">", "&", "&amp;", "<!here>", "<!channel>", "<@U123>", "@everyone",
         "[x](https://evil.example)", "**", "# ", "- ", "1. ", "=", "=?UTF-8?B?QQ==?=", "\\", "\"", ".", "From "],
        ["\u{10FFFF}", "\u{E000}", "\u{FFFD}", "\u{1D11E}", "𝕏"],
    ]

    /// `length` pieces, in runs from one alphabet at a time.
    static func text(_ random: inout SplitMix64, length: Int) -> String {
        var output = ""
        var alphabet = alphabets[random.below(alphabets.count)]
        for _ in 0..<length {
            if random.below(8) == 0 { alphabet = alphabets[random.below(alphabets.count)] }
            output += alphabet[random.below(alphabet.count)]
        }
        return output
    }

    /// A name a file system would take: at most 255 bytes of valid UTF-8, no `/` or NUL, ending
    /// in `.json`.
    static func fileName(_ random: inout SplitMix64) -> String {
        var name = ""
        for character in text(&random, length: random.below(120)) where character != "/" && character != "\0" {
            if name.utf8.count + String(character).utf8.count > 250 { break }
            name.append(character)
        }
        return name + ".json"
    }

    /// A failed check of any id and level whose message and fix are random text.
    static func checkFinding(_ random: inout SplitMix64) -> CheckFinding {
        let lengths = [0, 1, 80, 600, 3_000]
        return CheckFinding(check: CheckID.allCases[random.below(CheckID.allCases.count)],
                            severity: random.below(2) == 0 ? .error : .warning,
                            message: text(&random, length: lengths[random.below(lengths.count)]),
                            fix: text(&random, length: lengths[random.below(lengths.count)]),
                            evidence: Evidence(field: "Tag", value: text(&random, length: 20)))
    }

    /// A Metrc create-package entry of random text, needing a batch or invalid as it happens.
    static func package(_ random: inout SplitMix64) -> [String: Any] {
        let lengths = [0, 1, 20, 200, 2_000]
        let category = random.below(3) == 0 ? text(&random, length: lengths[random.below(lengths.count)])
            : ["Concentrate", "Vape Cartridge", "Pre-Roll Infused", "Buds", "Edible"][random.below(5)]
        var entry = HostileAlerts.package(random.below(99_999), item: text(&random, length: lengths[random.below(lengths.count)]),
                                          category: category, sources: [0, 1, 3, 40][random.below(4)])
        if random.below(4) == 0 { entry["Tag"] = text(&random, length: random.below(40)) }
        if random.below(6) == 0 { entry["Quantity"] = text(&random, length: 5) }
        return entry
    }
}

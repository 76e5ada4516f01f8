import BatchgateCore

/// One message that stands for many alerts waiting for one chat or mail sink (a burst of
/// manifests needing batches), so a channel gets one post instead of fifty.
public struct AlertDigest: Sendable, Equatable {
    /// The alerts' digest lines, oldest first.
    public var lines: [String]
    public var host: String
    public var time: String
    public var facility: String?

    public init(lines: [String], host: String, time: String, facility: String?) {
        self.lines = lines
        self.host = host
        self.time = time
        self.facility = facility
    }

    var title: String {
        let place = facility.map { " (\($0))" } ?? ""
        return "batchgate: \(lines.count) manifests need attention\(place)"
    }

    /// Slack: a header, the lines in sections of up to 40 lines each (3,000 characters at most),
    /// within Slack's 50 blocks.
    public func slackJSON() -> [UInt8] {
        var json = JSONWriter()
        let fallback = "\(title): " + lines.prefix(5).joined(separator: "; ") + (lines.count > 5 ? "; …" : "")
        json.slackMessage(fallback: fallback) { json in
            json.slackHeader(title)
            let groups = chunks(lines.map(escapeMrkdwn), maxLines: 40, maxCharacters: 2_900)
            for group in groups.prefix(47) { json.slackSection(group.map { "• " + $0 }.joined(separator: "\n")) }
            if groups.count > 47 {
                json.slackSection("… and \(groups.dropFirst(47).reduce(0) { $0 + $1.count }) more.")
            }
            json.slackContext("batchgate on \(escapeMrkdwn(host)) · \(time)")
        }
        return json.bytes
    }

    /// Teams: an Adaptive Card with the title and one line per alert.
    public func teamsJSON() -> [UInt8] {
        var json = JSONWriter()
        json.teamsCard { json in
            json.teamsTextBlock(title, bold: true)
            for line in lines { json.teamsTextBlock("- " + line) }
            json.teamsTextBlock("batchgate on \(host) · \(time)")
        }
        return json.bytes
    }

    /// E-mail: a subject that says how many, and the lines.
    public func email() -> (subject: String, body: String) {
        ("[batchgate] \(lines.count) manifests need attention" + (facility.map { " (\($0))" } ?? ""),
         ([title, ""] + lines.map { "- " + $0 } + ["", "Host: \(host)   Time: \(time)"]).joined(separator: "\n") + "\n")
    }

    /// The lines cut into groups that each fit one Slack section.
    private func chunks(_ lines: [String], maxLines: Int, maxCharacters: Int) -> [[String]] {
        var result: [[String]] = []
        var current: [String] = []
        var size = 0
        for line in lines.map({ String($0.prefix(maxCharacters - 2)) }) {
            if current.count == maxLines || size + line.count + 3 > maxCharacters {
                result.append(current)
                current = []
                size = 0
            }
            current.append(line)
            size += line.count + 3
        }
        if !current.isEmpty { result.append(current) }
        return result
    }
}

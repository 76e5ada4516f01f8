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
        json.beginObject()
        json.key("text"); json.string("\(title): " + lines.prefix(5).joined(separator: "; ") + (lines.count > 5 ? "; …" : ""))
        json.key("blocks")
        json.beginArray()
        json.beginObject()
        json.key("type"); json.string("header")
        json.key("text")
        json.beginObject()
        json.key("type"); json.string("plain_text")
        json.key("text"); json.string(String(title.prefix(150)))
        json.endObject()
        json.endObject()
        let groups = chunks(maxLines: 40, maxCharacters: 2_900)
        var sections = groups.prefix(47).map { $0.map { "• " + $0 }.joined(separator: "\n") }
        if groups.count > 47 {
            sections.append("… and \(groups.dropFirst(47).reduce(0) { $0 + $1.count }) more.")
        }
        for text in sections {
            json.beginObject()
            json.key("type"); json.string("section")
            json.key("text")
            json.beginObject()
            json.key("type"); json.string("mrkdwn")
            json.key("text"); json.string(text)
            json.endObject()
            json.endObject()
        }
        json.beginObject()
        json.key("type"); json.string("context")
        json.key("elements")
        json.beginArray()
        json.beginObject()
        json.key("type"); json.string("mrkdwn")
        json.key("text"); json.string("batchgate on \(host) · \(time)")
        json.endObject()
        json.endArray()
        json.endObject()
        json.endArray()
        json.endObject()
        return json.bytes
    }

    /// Teams: an Adaptive Card with the title and one line per alert.
    public func teamsJSON() -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("type"); json.string("message")
        json.key("attachments")
        json.beginArray()
        json.beginObject()
        json.key("contentType"); json.string("application/vnd.microsoft.card.adaptive")
        json.key("content")
        json.beginObject()
        json.key("$schema"); json.string("http://adaptivecards.io/schemas/adaptive-card.json")
        json.key("type"); json.string("AdaptiveCard")
        json.key("version"); json.string("1.4")
        json.key("body")
        json.beginArray()
        for (index, text) in ([title] + lines.map { "- " + $0 } + ["batchgate on \(host) · \(time)"]).enumerated() {
            json.beginObject()
            json.key("type"); json.string("TextBlock")
            json.key("text"); json.string(text)
            json.key("wrap"); json.bool(true)
            if index == 0 {
                json.key("weight"); json.string("Bolder")
                json.key("size"); json.string("Medium")
            }
            json.endObject()
        }
        json.endArray()
        json.endObject()
        json.endObject()
        json.endArray()
        json.endObject()
        return json.bytes
    }

    /// E-mail: a subject that says how many, and the lines.
    public func email() -> (subject: String, body: String) {
        ("[batchgate] \(lines.count) manifests need attention" + (facility.map { " (\($0))" } ?? ""),
         ([title, ""] + lines.map { "- " + $0 } + ["", "Host: \(host)   Time: \(time)"]).joined(separator: "\n") + "\n")
    }

    /// The lines cut into groups that each fit one Slack section.
    private func chunks(maxLines: Int, maxCharacters: Int) -> [[String]] {
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

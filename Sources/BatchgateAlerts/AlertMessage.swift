import BatchgateCore

/// What an alert says about one routed manifest, and how each kind of sink shows it. Pure: the
/// router supplies the report and the context, the renderers return bytes or text.
public struct AlertMessage: Sendable, Equatable {
    public var id: String
    /// ISO 8601 time the manifest was routed.
    public var time: String
    public var licenseNumber: String?
    public var facility: String?
    public var host: String
    /// The manifest's name in its outcome folder.
    public var file: String
    public var decision: Decision
    public var summary: String
    /// Where the text report lies (`<file>.report.txt`), for a person to open.
    public var reportPath: String
    public var packages: [PackageVerdict]
    /// File-wide errors (a rejected manifest that could not be read at all).
    public var errors: [String]

    public init(id: String, time: String, licenseNumber: String?, facility: String?, host: String, file: String,
                reportPath: String, report: ManifestReport) {
        self.id = id
        self.time = time
        self.licenseNumber = licenseNumber ?? report.licenseNumber
        self.facility = facility ?? report.facility
        self.host = host
        self.file = file
        self.decision = report.decision
        self.summary = report.summary
        self.reportPath = reportPath
        self.packages = report.packages
        self.errors = report.errors.filter { $0.packageIndex == nil }.map(\.message)
    }

    /// The packages a person must act on: those needing a batch or invalid.
    var packagesToFix: [PackageVerdict] { packages.filter { $0.status != .ok } }

    /// "Needs a production batch: x.json (North, PR-1)": the decision, the file, and where when
    /// the facility or license is known.
    var title: String {
        let label = switch decision {
        case .accepted: "Accepted"
        case .needsBatch: "Needs a production batch"
        case .rejected: "Rejected"
        }
        let place = [facility, licenseNumber].compactMap { $0 }.joined(separator: ", ")
        return place.isEmpty ? "\(label): \(file)" : "\(label): \(file) (\(place))"
    }

    /// One line for a digest: "run.json — needs-batch: 1 of 2 packages need a production batch (report …)".
    public var digestLine: String {
        "\(file) — \(summary) (report \(reportPath))"
    }

    // MARK: Generic webhook

    /// A generic JSON body: every fact of the alert, for a support desk or custom receiver.
    public func webhookJSON() -> [UInt8] {
        var json = JSONWriter()
        json.beginObject()
        json.key("event"); json.string("manifest.\(decision.rawValue)")
        json.key("alertId"); json.string(id)
        json.key("time"); json.string(time)
        json.key("licenseNumber"); json.string(licenseNumber)
        json.key("facility"); json.string(facility)
        json.key("host"); json.string(host)
        json.key("file"); json.string(file)
        json.key("decision"); json.string(decision.rawValue)
        json.key("summary"); json.string(summary)
        json.key("reportPath"); json.string(reportPath)
        json.key("packages")
        json.beginArray()
        for package in packages {
            json.beginObject()
            json.key("tag"); json.string(package.tag)
            json.key("item"); json.string(package.item)
            json.key("category"); json.string(package.category)
            json.key("status"); json.string(package.status.rawValue)
            json.key("rules"); json.strings(package.rules.map(\.rawValue))
            json.key("messages"); json.strings(package.reasons)
            json.key("fix"); json.string(package.fix)
            json.endObject()
        }
        json.endArray()
        json.key("errors"); json.strings(errors)
        json.endObject()
        return json.bytes
    }

    // MARK: Slack

    /// A Slack incoming-webhook message: `text` as the fallback, and Block Kit `blocks`.
    public func slackJSON() -> [UInt8] {
        var json = JSONWriter()
        json.slackMessage(fallback: "\(title) — \(summary)") { json in
            json.slackHeader(title)
            json.slackSection("*\(escapeMrkdwn(summary))*\nReport: `\(escapeMrkdwn(reportPath))`")
            // Slack allows 50 blocks: header, summary, up to 46 packages or errors, a remainder, context.
            let lines = packageLines() + errors.map { "Error: \(escapeMrkdwn($0))" }
            for line in lines.prefix(46) { json.slackSection(String(line.prefix(3000))) }
            if lines.count > 46 { json.slackSection("… and \(lines.count - 46) more in the report.") }
            json.slackContext("batchgate on \(escapeMrkdwn(host)) · \(time) · alert \(id)")
        }
        return json.bytes
    }

    private func packageLines() -> [String] {
        packagesToFix.map { package in
            var line = "*\(package.tag ?? "package \(package.position.packageIndex)")*"
            if let item = package.item { line += " \(escapeMrkdwn(item))" }
            if let category = package.category { line += " (\(escapeMrkdwn(category)))" }
            line += package.status == .invalid ? " — invalid" : " — needs a production batch"
            for finding in package.findings { line += "\n• \(escapeMrkdwn(finding.message))" }
            if package.status == .invalid { for error in package.errors { line += "\n• \(escapeMrkdwn(error))" } }
            if let fix = package.fix { line += "\n*Fix:* \(escapeMrkdwn(fix))" }
            return line
        }
    }


    // MARK: Teams

    /// A Teams Workflows webhook message carrying an Adaptive Card.
    public func teamsJSON() -> [UInt8] {
        var json = JSONWriter()
        json.teamsCard { json in
            json.teamsTextBlock(title, bold: true)
            json.teamsTextBlock(summary)
            json.beginObject()
            json.key("type"); json.string("FactSet")
            json.key("facts")
            json.beginArray()
            for (title, value) in [("File", file), ("Decision", decision.rawValue), ("Report", reportPath), ("Host", host),
                                   ("Time", time), ("Alert", id)] {
                json.beginObject()
                json.key("title"); json.string(title)
                json.key("value"); json.string(value)
                json.endObject()
            }
            json.endArray()
            json.endObject()
            for package in packagesToFix {
                var lines = ["**\(package.tag ?? "package \(package.position.packageIndex)")** \(package.item ?? "") \(package.category.map { "(\($0))" } ?? "")"]
                lines += package.findings.map { "- \($0.message)" }
                if package.status == .invalid { lines += package.errors.map { "- \($0)" } }
                if let fix = package.fix { lines.append("**Fix:** \(fix)") }
                json.teamsTextBlock(lines.joined(separator: "\n\n"))
            }
            for error in errors { json.teamsTextBlock("Error: \(error)") }
        }
        return json.bytes
    }

    // MARK: E-mail

    /// A subject line and a plain-text body a person can act on.
    public func email() -> (subject: String, body: String) {
        let subject = "[batchgate] \(title)"
        var lines = [title, "", summary, ""]
        for package in packagesToFix {
            lines.append("Package \(package.tag ?? "\(package.position.packageIndex)")  \(package.item ?? "") \(package.category.map { "(\($0))" } ?? "")")
            for finding in package.findings { lines.append("  - \(finding.message)") }
            if package.status == .invalid { for error in package.errors { lines.append("  - \(error)") } }
            if let fix = package.fix { lines.append("  Fix: \(fix)") }
            lines.append("")
        }
        for error in errors { lines.append("Error: \(error)") }
        lines += ["", "Report: \(reportPath)", "Host: \(host)   Time: \(time)   Alert: \(id)"]
        return (subject, lines.joined(separator: "\n") + "\n")
    }
}

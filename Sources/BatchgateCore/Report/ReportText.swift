extension ManifestReport {
    /// The report for a person: a headline, then one block per package with its verdict, the
    /// reasons and the fix, then any errors.
    public var text: String { String(decoding: textUTF8, as: UTF8.self) }

    /// ``text`` as UTF-8, for writing it out without making a string of it first.
    public var textUTF8: [UInt8] {
        var lines = TextLines()
        writeText(to: &lines)
        return lines.buffer.bytes
    }

    private func writeText(to lines: inout TextLines) {
        lines.line(file, ": ", headline)
        if let source { lines.line("  source: ", source) }
        for package in packages {
            lines.line()
            lines.append("  ")
            if let tag = package.tag { lines.append(tag) } else { lines.append("package \(package.position.packageIndex)") }
            if let item = package.item { lines.append("  "); lines.append(item) }
            if let category = package.category { lines.append(" ("); lines.append(category); lines.append(")") }
            lines.line()
            lines.append("    ")
            package.writeVerdict(to: &lines)
            lines.line()
            // One word for each weight, the same everywhere: error, warning, note.
            for finding in package.findings {
                lines.line("    ", package.findingSeverity.rawValue, " [", finding.rule.rawValue, "]: ", finding.message)
            }
            for error in package.errors { lines.line("    error: ", error) }
            for check in package.checks { check.writeText(to: &lines, indent: "    ") }
            for warning in package.warnings { lines.line("    warning: ", warning.message) }
            for note in package.notes { lines.line("    note: ", note) }
            if let fix = package.fix { lines.line("    Fix: ", fix) }
        }
        // A manifest-level check's error is shown as its finding, below.
        let fileErrors = errors.filter { ($0.packageIndex == nil || !packages.indices.contains($0.packageIndex!)) && $0.check == nil }
        if !fileErrors.isEmpty {
            lines.line()
            for error in fileErrors {
                lines.line("  error: ", error.message)
            }
        }
        if !checks.isEmpty {
            lines.line()
            for check in checks { check.writeText(to: &lines, indent: "  ") }
        }
        if !skipped.isEmpty {
            lines.line()
            // Checks skipped for one reason and the same tags share a line.
            var groups: [(checks: [CheckID], reason: String, tags: [String])] = []
            for skip in skipped {
                if let index = groups.firstIndex(where: { $0.reason == skip.reason && $0.tags == skip.tags }) {
                    groups[index].checks.append(skip.check)
                } else {
                    groups.append(([skip.check], skip.reason, skip.tags))
                }
            }
            for group in groups {
                let tags = group.tags.isEmpty ? "" : " (\(Self.listed(group.tags)))"
                lines.line("  not checked [\(group.checks.map(\.rawValue).joined(separator: ", "))]\(tags): \(group.reason)")
            }
        }
    }

    /// A line with its control characters shown as escapes (`\x1B`, `\n`): a value from a manifest
    /// can neither drive the terminal of whoever reads the report nor break its lines.
    static func printable(_ line: String) -> String {
        guard line.unicodeScalars.contains(where: isControl) else { return line }
        var output = ""
        for scalar in line.unicodeScalars {
            switch scalar {
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case _ where isControl(scalar):
                let hex = String(scalar.value, radix: 16, uppercase: true)
                output += "\\x" + (hex.count == 1 ? "0" + hex : hex)
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    private static func isControl(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || (0x7F...0x9F).contains(scalar.value)
    }

    private var headline: String {
        switch decision {
        case .accepted: "ACCEPTED — " + summary.dropFirst("accepted: ".count)
        case .needsBatch: "NEEDS BATCH — " + summary.dropFirst("needs-batch: ".count)
        case .rejected where !checkFindings(.error).isEmpty && errors.count == checkFindings(.error).count:
            "REJECTED — Metrc would refuse it; fix the errors below"
        case .rejected: "REJECTED — the manifest cannot be evaluated; fix the errors below"
        }
    }

    /// Up to three tags, then how many more.
    static func listed(_ tags: [String]) -> String {
        tags.count <= 3 ? tags.joined(separator: ", ")
            : tags.prefix(3).joined(separator: ", ") + " and \(tags.count - 3) more"
    }
}

/// The text report as it is written: lines of pieces, each piece shown ``ManifestReport/printable(_:)``.
/// Escaping piece by piece gives the same line as escaping it whole, since a piece is whole
/// characters; it saves building each line as a string first.
private struct TextLines: ~Copyable {
    var buffer = ByteBuffer()

    /// The bytes that may start a control character: C0, DEL, and 0xC2, which leads U+0080 to
    /// U+00BF in UTF-8 (the C1 controls among them).
    private static let controls = StopBytes(below: 0x20, a: 0x7F, b: 0xC2, c: 0x7F)

    /// Appends `pieces` and ends the line. A parameter pack rather than `String...`, which would
    /// allocate an array for every line.
    mutating func line<each Piece: StringProtocol>(_ pieces: repeat each Piece) {
        for piece in repeat each pieces { append(String(piece)) }
        buffer.append(UInt8(ascii: "\n"))
    }

    /// Appends one piece of the current line.
    mutating func append(_ piece: String) {
        let plain = piece.withUTF8Bytes { utf8 in
            guard Self.controls.plainPrefixLength(of: utf8) == utf8.count else { return false }
            buffer.append(utf8)
            return true
        }
        if !plain { buffer.append(ManifestReport.printable(piece)) }
    }
}

extension CheckFinding {
    /// `error [source-over-used]: …` then its fix on the next line.
    fileprivate func writeText(to lines: inout TextLines, indent: String) {
        lines.line(indent, severity.rawValue, " [", check.rawValue, "]: ", message)
        lines.line(indent, "  fix: ", fix)
    }
}

extension PackageVerdict {
    /// "OK: …", "NEEDS BATCH: …" or "INVALID: …", with the rules or checks that decide it.
    fileprivate func writeVerdict(to lines: inout TextLines) {
        switch status {
        case .ok:
            lines.append(productionBatchRequired
                ? "OK: a production batch, and marked as one"
                : "OK: no production batch needed")
        case .needsBatch where findings.isEmpty:
            lines.append("NEEDS BATCH: Production Batch is marked with a blank batch number, which Metrc refuses")
        case .needsBatch:
            lines.append("NEEDS BATCH: a production batch is required (")
            for (index, finding) in findings.enumerated() {
                if index > 0 { lines.append(", ") }
                lines.append(finding.rule.rawValue)
            }
            lines.append(")")
        case .invalid where errors.isEmpty && !checkErrors.isEmpty:
            lines.append("INVALID: Metrc would refuse it (\(checkErrors.map(\.check.rawValue).joined(separator: ", ")))")
        case .invalid:
            lines.append("INVALID: cannot be evaluated")
        }
    }
}

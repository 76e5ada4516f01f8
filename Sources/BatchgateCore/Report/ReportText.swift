extension ManifestReport {
    /// The report for a person: a headline, then one block per package with its verdict, the
    /// reasons and the fix, then any errors.
    public var text: String {
        var lines: [String] = []
        lines.append("\(file): \(headline)")
        if let source { lines.append("  source: \(source)") }
        for package in packages {
            lines.append("")
            var title = "  \(package.tag ?? "package \(package.position.packageIndex)")"
            if let item = package.item { title += "  \(item)" }
            if let category = package.category { title += " (\(category))" }
            lines.append(title)
            lines.append("    \(package.verdictLine)")
            // One word for each weight, the same everywhere: error, warning, note.
            for finding in package.findings {
                lines.append("    \(package.findingSeverity.rawValue) [\(finding.rule.rawValue)]: \(finding.message)")
            }
            for error in package.errors { lines.append("    error: \(error)") }
            for check in package.checks { lines += check.textLines(indent: "    ") }
            for warning in package.warnings { lines.append("    warning: \(warning.message)") }
            for note in package.notes { lines.append("    note: \(note)") }
            if let fix = package.fix { lines.append("    Fix: \(fix)") }
        }
        // A manifest-level check's error is shown below with its fix, not here as well.
        let fileErrors = errors.filter { error in
            (error.packageIndex == nil || !packages.indices.contains(error.packageIndex!))
                && !checks.contains(where: { $0.issue(format: format ?? .json, tag: nil) == error })
        }
        if !fileErrors.isEmpty {
            lines.append("")
            for error in fileErrors { lines.append("  error: \(error.message)") }
        }
        if !checks.isEmpty {
            lines.append("")
            for check in checks { lines += check.textLines(indent: "  ") }
        }
        if !skipped.isEmpty {
            lines.append("")
            for skip in skipped {
                let tags = skip.tags.isEmpty ? "" : " (\(Self.listed(skip.tags)))"
                lines.append("  not checked [\(skip.check.rawValue)]\(tags): \(skip.reason)")
            }
        }
        return lines.map(Self.printable).joined(separator: "\n") + "\n"
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

extension CheckFinding {
    /// `error [source-over-used]: …` then its fix on the next line.
    fileprivate func textLines(indent: String) -> [String] {
        ["\(indent)\(severity.rawValue) [\(check.rawValue)]: \(message)", "\(indent)  fix: \(fix)"]
    }
}

extension PackageVerdict {
    fileprivate var verdictLine: String {
        switch status {
        case .ok:
            productionBatchRequired
                ? "OK: a production batch, and marked as one"
                : "OK: no production batch needed"
        case .needsBatch where rules.isEmpty:
            "NEEDS BATCH: Production Batch is marked with a blank batch number, which Metrc refuses"
        case .needsBatch:
            "NEEDS BATCH: a production batch is required (\(rules.map(\.rawValue).joined(separator: ", ")))"
        case .invalid where errors.isEmpty && !checkErrors.isEmpty:
            "INVALID: Metrc would refuse it (\(checkErrors.map(\.check.rawValue).joined(separator: ", ")))"
        case .invalid:
            "INVALID: cannot be evaluated"
        }
    }
}

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
            for finding in package.findings {
                lines.append("    - \(finding.rule.rawValue): \(finding.message)")
            }
            for notice in package.notices {
                lines.append("    \(package.status == .invalid ? "error" : "note"): \(notice)")
            }
            if let fix = package.fix { lines.append("    Fix: \(fix)") }
        }
        let fileErrors = errors.filter { $0.packageIndex == nil || !packages.indices.contains($0.packageIndex!) }
        if !fileErrors.isEmpty {
            lines.append("")
            for error in fileErrors { lines.append("  error: \(error.message)") }
        }
        return lines.joined(separator: "\n") + "\n"
    }

    private var headline: String {
        switch decision {
        case .accepted: "ACCEPTED — " + summary.dropFirst("accepted: ".count)
        case .needsBatch: "NEEDS BATCH — " + summary.dropFirst("needs-batch: ".count)
        case .rejected: "REJECTED — the manifest cannot be evaluated; fix the errors below"
        }
    }
}

extension PackageVerdict {
    fileprivate var verdictLine: String {
        switch status {
        case .ok:
            productionBatchRequired
                ? "OK: a production batch, and marked as one"
                : "OK: no production batch needed"
        case .needsBatch:
            "NEEDS BATCH: a production batch is required (\(rules.map(\.rawValue).joined(separator: ", ")))"
        case .invalid:
            "INVALID: cannot be evaluated"
        }
    }
}

extension ManifestReport {
    /// The report as one line of JSON (docs/manifests.md §10). `extra` adds top-level string fields
    /// after `file`, such as the daemon's `receivedAt` and `routedAt` times.
    public func jsonLine(extra: [(key: String, value: String)] = []) -> [UInt8] {
        var json = JSONWriter()
        write(to: &json, extra: extra)
        return json.bytes
    }

    /// Writes the report object into a writer that is building a larger document.
    public func write(to json: inout JSONWriter, extra: [(key: String, value: String)] = []) {
        json.beginObject()
        json.member("file", file)
        for field in extra {
            json.key(field.key); json.string(field.value)
        }
        json.member("decision", plain: decision.rawValue)
        json.member("summary", summary)
        if let format { json.member("format", plain: format.rawValue) }
        if let licenseNumber { json.member("licenseNumber", licenseNumber) }
        if let facility { json.member("facility", facility) }
        if let source { json.member("source", source) }
        json.key("packages")
        json.beginArray()
        // By position, here and below: a `for package in packages` loop copies each verdict.
        for index in packages.indices { packages[index].write(to: &json) }
        json.endArray()
        json.key("errors")
        json.beginArray()
        for error in errors {
            json.beginObject()
            json.member("message", error.message)
            json.member("line", error.line)
            json.member("field", error.field)
            json.endObject()
        }
        json.endArray()
        json.key("findings")
        json.beginArray()
        for finding in checks { finding.write(to: &json) }
        json.endArray()
        json.key("skipped")
        json.beginArray()
        for skip in skipped {
            json.beginObject()
            json.member("rule", plain: skip.check.rawValue)
            json.member("reason", skip.reason)
            json.key("tags"); json.strings(skip.tags)
            json.endObject()
        }
        json.endArray()
        json.endObject()
    }
}

extension CheckFinding {
    /// `{rule, severity, message, evidence, fix}`: a rule finding's shape, with the fix.
    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.member("rule", plain: check.rawValue)
        json.member("severity", plain: severity.rawValue)
        json.member("message", message)
        json.key("evidence"); evidence.write(to: &json)
        json.member("fix", fix)
        json.endObject()
    }
}

extension PackageVerdict {
    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.member("tag", tag)
        json.member("item", item)
        json.member("category", category)
        json.member("productionBatchRequired", productionBatchRequired)
        json.member("isProductionBatch", isMarked)
        json.member("productionBatchNumber", productionBatchNumber)
        json.key("rules")
        json.beginArray()
        findings.withUnsafeBufferPointer { findings in
            for index in findings.indices { json.string(plain: findings[index].rule.rawValue) }
        }
        json.endArray()
        json.member("status", plain: status.rawValue)
        json.key("messages")
        json.beginArray()
        forEachMessage(includingFix: true) { json.string($1, after: $0) }
        json.endArray()
        json.key("findings")
        json.beginArray()
        let severity = findingSeverity
        // Each finding borrowed where it stands: read through the array's subscript, it was copied
        // whole, with its strings, for every field taken from it.
        findings.withUnsafeBufferPointer { findings in
            for index in findings.indices {
                writeEntry(to: &json, rule: findings[index].rule, severity: severity, message: findings[index].message,
                           evidence: findings[index].evidence)
            }
        }
        for finding in checks { finding.write(to: &json) }
        json.endArray()
        json.key("warnings")
        json.beginArray()
        for warning in warnings {
            writeEntry(to: &json, rule: nil, severity: .warning, message: warning.message, evidence: warning.evidence)
        }
        json.endArray()
        json.member("fix", fix)
        json.member("location", location)
        json.member("note", note)
        json.member("line", position.line)
        json.endObject()
    }
}

extension PackageVerdict {
    /// One finding or warning: `{rule, severity, message, evidence}`, a warning without `rule`.
    private func writeEntry(to json: inout JSONWriter, rule: RuleID?, severity: Severity, message: String,
                            evidence: Evidence?) {
        json.beginObject()
        if let rule { json.member("rule", plain: rule.rawValue) }
        json.member("severity", plain: severity.rawValue)
        json.member("message", message)
        json.key("evidence")
        if let evidence { evidence.write(to: &json) } else { json.string(nil) }
        json.endObject()
    }
}

extension Evidence {
    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.member("field", field)
        json.member("value", value)
        json.member("line", line)
        json.member("origin", plain: origin.rawValue)
        json.endObject()
    }
}

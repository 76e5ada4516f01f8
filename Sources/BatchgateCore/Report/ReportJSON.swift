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
        json.key("file"); json.string(file)
        for field in extra {
            json.key(field.key); json.string(field.value)
        }
        json.key("decision"); json.string(decision.rawValue)
        json.key("summary"); json.string(summary)
        if let format { json.key("format"); json.string(format.rawValue) }
        if let licenseNumber { json.key("licenseNumber"); json.string(licenseNumber) }
        if let facility { json.key("facility"); json.string(facility) }
        if let source { json.key("source"); json.string(source) }
        json.key("packages")
        json.beginArray()
        // By position, here and below: a `for package in packages` loop copies each verdict.
        for index in packages.indices { packages[index].write(to: &json) }
        json.endArray()
        json.key("errors")
        json.beginArray()
        for error in errors {
            json.beginObject()
            json.key("message"); json.string(error.message)
            json.key("line"); json.int(error.line)
            json.key("field"); json.string(error.field)
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
            json.key("rule"); json.string(skip.check.rawValue)
            json.key("reason"); json.string(skip.reason)
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
        json.key("rule"); json.string(check.rawValue)
        json.key("severity"); json.string(severity.rawValue)
        json.key("message"); json.string(message)
        json.key("evidence"); evidence.write(to: &json)
        json.key("fix"); json.string(fix)
        json.endObject()
    }
}

extension PackageVerdict {
    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.key("tag"); json.string(tag)
        json.key("item"); json.string(item)
        json.key("category"); json.string(category)
        json.key("productionBatchRequired"); json.bool(productionBatchRequired)
        json.key("isProductionBatch"); json.bool(isMarked)
        json.key("productionBatchNumber"); json.string(productionBatchNumber)
        json.key("rules")
        json.beginArray()
        findings.withUnsafeBufferPointer { findings in
            for index in findings.indices { json.string(findings[index].rule.rawValue) }
        }
        json.endArray()
        json.key("status"); json.string(status.rawValue)
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
        json.key("fix"); json.string(fix)
        json.key("location"); json.string(location)
        json.key("note"); json.string(note)
        json.key("line"); json.int(position.line)
        json.endObject()
    }
}

extension PackageVerdict {
    /// One finding or warning: `{rule, severity, message, evidence}`, a warning without `rule`.
    private func writeEntry(to json: inout JSONWriter, rule: RuleID?, severity: Severity, message: String,
                            evidence: Evidence?) {
        json.beginObject()
        if let rule { json.key("rule"); json.string(rule.rawValue) }
        json.key("severity"); json.string(severity.rawValue)
        json.key("message"); json.string(message)
        json.key("evidence")
        if let evidence { evidence.write(to: &json) } else { json.string(nil) }
        json.endObject()
    }
}

extension Evidence {
    func write(to json: inout JSONWriter) {
        json.beginObject()
        json.key("field"); json.string(field)
        json.key("value"); json.string(value)
        json.key("line"); json.int(line)
        json.key("origin"); json.string(origin.rawValue)
        json.endObject()
    }
}

import BatchgateCore

extension Sinks {
    /// A JSON POST to any HTTP endpoint (a support desk, a custom receiver): every fact of the
    /// alert, one request per alert.
    enum Webhook: SinkKind {
        /// A generic JSON body: every fact of the alert, for a support desk or custom receiver.
        static func alert(_ message: AlertMessage) -> SinkMessage {
            var json = JSONWriter()
            json.beginObject()
            json.key("event"); json.string("manifest.\(message.decision.rawValue)")
            json.key("alertId"); json.string(message.id)
            json.key("time"); json.string(message.time)
            json.key("licenseNumber"); json.string(message.licenseNumber)
            json.key("facility"); json.string(message.facility)
            json.key("host"); json.string(message.host)
            json.key("file"); json.string(message.file)
            json.key("decision"); json.string(message.decision.rawValue)
            json.key("summary"); json.string(message.summary)
            json.key("reportPath"); json.string(message.reportPath)
            json.key("packages")
            json.beginArray()
            for package in message.packages {
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
            json.key("errors"); json.strings(message.errors)
            json.endObject()
            return SinkMessage(body: json.bytes)
        }

        /// Never asked for: a webhook sends every alert on its own (the config refuses a digest
        /// threshold for it). An outbox entry that names a digest all the same (a file edited by
        /// hand) goes as the plain-text list an e-mail digest is.
        static func digest(_ digest: AlertDigest) -> SinkMessage {
            Email.digest(digest)
        }
    }
}

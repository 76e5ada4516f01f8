import BatchgateCore
import BatchgateSystem
import BatchgateConfig

extension Sinks {
    /// A JSON POST to any HTTP endpoint (a support desk, a custom receiver): every fact of the
    /// alert, one request per alert. The request is the one every HTTP sink sends: Slack and
    /// Teams incoming webhooks take the same POST with their own body (docs/alerts.md).
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

        /// The facts of ``alert(_:)`` without its packages and errors, `"minimal": true` saying so.
        static func fallback(_ message: AlertMessage) -> SinkMessage {
            var json = JSONWriter()
            json.beginObject()
            json.key("event"); json.string("manifest.\(message.decision.rawValue)")
            json.key("alertId"); json.string(message.id)
            json.key("time"); json.string(message.time)
            json.key("host"); json.string(message.host)
            json.key("file"); json.string(message.file)
            json.key("decision"); json.string(message.decision.rawValue)
            json.key("summary"); json.string(message.summary)
            json.key("reportPath"); json.string(message.reportPath)
            json.key("minimal"); json.bool(true)
            json.endObject()
            return SinkMessage(body: json.bytes)
        }

        /// Never asked for: a webhook sends every alert on its own (the config refuses a digest
        /// threshold for it). An outbox entry that names a digest all the same (a file edited by
        /// hand) goes as the plain-text list an e-mail digest is.
        static func digest(_ digest: AlertDigest) -> SinkMessage {
            Email.digest(digest)
        }

        static func request(for delivery: AlertDelivery, to sink: DaemonConfig.AlertSink, secrets: SinkSecrets,
                            host: String, date: Double) -> SinkRequest {
            .post(httpRequest(for: delivery, to: sink, secrets: secrets))
        }

        /// The request for an HTTP sink: the JSON body, `Idempotency-Key`, the sink's own headers,
        /// and when it signs, `<header>: sha256=<hex HMAC-SHA256 of the body with the secret>`.
        static func httpRequest(for delivery: AlertDelivery, to sink: DaemonConfig.AlertSink, secrets: SinkSecrets) -> HTTPRequest {
            var headers: [(name: String, value: String)] = [
                ("Content-Type", "application/json; charset=utf-8"),
                ("Idempotency-Key", delivery.id),
            ]
            // `DaemonConfig.sinkSecrets` resolves every header value and the signing key: a request
            // without one would go out unauthorised or unsigned, so a missing one is a bug.
            for header in sink.headers {
                guard let value = secrets.headers[header.name] else { preconditionFailure("no value was resolved for the header \(header.name)") }
                headers.append((header.name, value.exposedValue))
            }
            if let signing = sink.signing {
                guard let key = secrets.signingKey else { preconditionFailure("no signing key was resolved for the sink \(sink.name)") }
                let code = HMACSHA256.hex(key: Array(key.exposedValue.utf8), message: delivery.body)
                headers.append((signing.header, "sha256=" + code))
            }
            return HTTPRequest(url: secrets.url.exposedValue, headers: headers, body: delivery.body)
        }
    }
}

import BatchgateCore
import BatchgateSystem
import BatchgateConfig
import BatchgateHTTP

extension Sinks {
    /// A JSON POST to any HTTP endpoint (a support desk, a custom receiver): every fact of the
    /// alert, one request per alert. The request is the one every HTTP sink sends: Slack and
    /// Teams incoming webhooks take the same POST with their own body (docs/alerts.md).
    enum Webhook: SinkKind {
        /// A generic JSON body: every fact of the alert, for a support desk or custom receiver.
        static func alert(_ message: AlertMessage) -> SinkMessage {
            var json = JSONWriter()
            json.beginObject()
            writeFacts(of: message, to: &json)
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
                json.key("checks"); writeChecks(package.checks, to: &json)
                json.endObject()
            }
            json.endArray()
            json.key("checks"); writeChecks(message.checks, to: &json)
            json.key("errors"); json.strings(message.errors)
            json.endObject()
            return SinkMessage(body: json.bytes)
        }

        /// Failed checks as `[{"rule", "severity", "message", "fix"}]`, as the report's `findings`
        /// name them (without the evidence, which the report has).
        private static func writeChecks(_ checks: [CheckFinding], to json: inout JSONWriter) {
            json.beginArray()
            for check in checks {
                json.beginObject()
                json.key("rule"); json.string(check.check.rawValue)
                json.key("severity"); json.string(check.severity.rawValue)
                json.key("message"); json.string(check.message)
                json.key("fix"); json.string(check.fix)
                json.endObject()
            }
            json.endArray()
        }

        /// The facts of ``alert(_:)`` without its packages and errors, `"minimal": true` saying so.
        static func fallback(_ message: AlertMessage) -> SinkMessage {
            var json = JSONWriter()
            json.beginObject()
            writeFacts(of: message, to: &json)
            json.key("minimal"); json.bool(true)
            json.endObject()
            return SinkMessage(body: json.bytes)
        }

        /// The members every webhook body starts with: what happened, where, and the report.
        private static func writeFacts(of message: AlertMessage, to json: inout JSONWriter) {
            json.key("event"); json.string(message.event)
            json.key("alertId"); json.string(message.id)
            json.key("time"); json.string(message.time)
            json.key("licenseNumber"); json.string(message.licenseNumber)
            json.key("facility"); json.string(message.facility)
            json.key("host"); json.string(message.host)
            json.key("file"); json.string(message.file)
            json.key("decision"); json.string(message.decision.rawValue)
            json.key("summary"); json.string(message.summary)
            json.key("reportPath"); json.string(message.reportPath)
        }

        /// A notice about the service as JSON: the facts every body starts with (`event` is
        /// `catalog.unreachable` or `catalog.reachable`), then `kind` (the same), `title`, `text`
        /// and `details`, a list of `{"label", "value"}` in the order shown elsewhere. JSON
        /// escaping keeps any text inert; the notice's texts are bounded already (``NoticeMessage``).
        static func notice(_ notice: NoticeMessage) -> SinkMessage {
            var json = JSONWriter()
            json.beginObject()
            writeFacts(of: notice, to: &json)
            json.key("details")
            json.beginArray()
            for detail in notice.details {
                json.beginObject()
                json.key("label"); json.string(detail.label)
                json.key("value"); json.string(detail.value)
                json.endObject()
            }
            json.endArray()
            json.endObject()
            return SinkMessage(body: json.bytes)
        }

        /// The facts of ``notice(_:)`` without its details, `"minimal": true` saying so.
        static func noticeFallback(_ notice: NoticeMessage) -> SinkMessage {
            var json = JSONWriter()
            json.beginObject()
            writeFacts(of: notice, to: &json)
            json.key("minimal"); json.bool(true)
            json.endObject()
            return SinkMessage(body: json.bytes)
        }

        /// The members every notice body starts with: what happened, where, and what it means.
        /// The first six are those of a manifest's body, so a receiver reads both alike.
        private static func writeFacts(of notice: NoticeMessage, to json: inout JSONWriter) {
            json.key("event"); json.string(notice.event)
            json.key("alertId"); json.string(notice.id)
            json.key("time"); json.string(notice.time)
            json.key("licenseNumber"); json.string(notice.licenseNumber)
            json.key("facility"); json.string(notice.facility)
            json.key("host"); json.string(notice.host)
            json.key("kind"); json.string(notice.kind.rawValue)
            json.key("title"); json.string(notice.title)
            json.key("text"); json.string(notice.text)
        }

        /// Never asked for: a webhook sends every alert on its own (the config refuses a digest
        /// threshold for it). An outbox entry that names a digest all the same (a file edited by
        /// hand) goes as the plain-text list an e-mail digest is.
        static func digest(_ digest: AlertDigest) -> SinkMessage {
            Email.digest(digest)
        }

        static func request(for delivery: AlertDelivery, to sink: DaemonConfig.AlertSink, secrets: SinkSecrets,
                            host: String, date: Double) -> SinkRequest {
            .post(httpRequest(for: delivery, to: sink, secrets: secrets, host: host, date: date))
        }

        /// The request for an HTTP sink, sent at `date` from `host`: the JSON body,
        /// `Idempotency-Key`, the sink's own headers and, for a webhook sink, CloudEvents 1.0
        /// binary-mode attributes (`ce-*`: the body is the event's data). When the sink signs:
        /// `<header>: sha256=<hex HMAC-SHA256 of the body>`, and Standard Webhooks' `webhook-id`,
        /// `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of id.timestamp.body>`,
        /// whose timestamp lets a receiver refuse a replayed request (docs/alerts.md).
        static func httpRequest(for delivery: AlertDelivery, to sink: DaemonConfig.AlertSink, secrets: SinkSecrets,
                                host: String, date: Double) -> HTTPRequest {
            var headers: [(name: String, value: String)] = [
                ("Content-Type", "application/json; charset=utf-8"),
                ("Idempotency-Key", delivery.id),
            ]
            if sink.type == .webhook {
                headers += cloudEventHeaders(for: delivery, host: host, date: date)
            }
            // `DaemonConfig.sinkSecrets` resolves every header value and the signing key: a request
            // without one would go out unauthorised or unsigned, so a missing one is a bug.
            for header in sink.headers {
                guard let value = secrets.headers[header.name] else { preconditionFailure("no value was resolved for the header \(header.name)") }
                headers.append((header.name, value.exposedValue))
            }
            if let signing = sink.signing {
                guard let secret = secrets.signingKey else { preconditionFailure("no signing key was resolved for the sink \(sink.name)") }
                let key = Array(secret.exposedValue.utf8)
                headers.append((signing.header, "sha256=" + HMACSHA256.hex(key: key, message: delivery.body)))
                // Whole seconds, as Standard Webhooks writes them.
                let timestamp = String(Int(date.rounded(.down)))
                let signed = Array("\(delivery.id).\(timestamp).".utf8) + delivery.body
                headers += [
                    ("webhook-id", delivery.id),
                    ("webhook-timestamp", timestamp),
                    ("webhook-signature", "v1," + Base64.string(HMACSHA256.authenticationCode(key: key, message: signed))),
                ]
            }
            return HTTPRequest(url: secrets.url.exposedValue, headers: headers, body: delivery.body)
        }

        /// CloudEvents 1.0 in binary mode (the HTTP protocol binding, §3.1): the attributes as
        /// `ce-` headers, the body untouched as the data, `Content-Type` its type. The id is the
        /// delivery's (stable across retries, so a receiver can drop a repeat); the source names
        /// this server; the type is `batchgate.` and the event (`batchgate.manifest.needs-batch`,
        /// `batchgate.catalog.unreachable`); the time is when the alert was written (as the
        /// manifest was routed, or the notice posted).
        static func cloudEventHeaders(for delivery: AlertDelivery, host: String, date: Double) -> [(name: String, value: String)] {
            [
                ("ce-specversion", "1.0"),
                ("ce-id", delivery.id),
                // Percent-encoded: a host name is all unreserved characters already; an odd one stays a valid URI.
                ("ce-source", "/batchgate/" + URIComponent.percentEncoded(host)),
                ("ce-type", "batchgate." + (delivery.event ?? "digest")),
                ("ce-time", Timestamp.iso8601(delivery.occurredAt ?? date)),
            ]
        }
    }
}

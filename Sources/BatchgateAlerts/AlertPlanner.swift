#if canImport(Glibc)
import Glibc
#endif
import BatchgateCore
import BatchgateConfig

/// A manifest as the alerts about it name it: the route's id, the name it was given in its outcome
/// folder, its decision and when it was routed.
public struct RoutedManifest: Sendable, Equatable {
    var id: String
    var file: String
    var decision: Decision
    /// ISO 8601, as the journal and the audit log write it.
    var routedAt: String

    public init(id: String, file: String, decision: Decision, routedAt: String) {
        self.id = id
        self.file = file
        self.decision = decision
        self.routedAt = routedAt
    }
}

/// Turns a routed manifest into the outbox entries of the sinks that want its decision, each
/// rendered for its sink's kind. Pure but for the host name, read once.
public struct AlertPlanner: Sendable {
    /// The configuration whose sinks and facility the alerts are for.
    var config: DaemonConfig
    var layout: StateLayout
    /// The name alerts give for this server.
    public var host: String

    public init(config: DaemonConfig, layout: StateLayout, host: String = AlertPlanner.hostName()) {
        self.config = config
        self.layout = layout
        self.host = host
    }

    /// True when no sink is configured: the router writes no alert at all.
    public var isEmpty: Bool { config.alerts.sinks.isEmpty }

    /// The message an alert about this route carries.
    public func message(for manifest: RoutedManifest, report: ManifestReport) -> AlertMessage {
        var named = report
        named.file = manifest.file
        return AlertMessage(id: manifest.id, time: manifest.routedAt, licenseNumber: config.facility.licenseNumber,
                            facility: config.facility.name, host: host, file: manifest.file,
                            reportPath: layout.folder(for: manifest.decision) + "/" + ReportNames.text(of: manifest.file), report: named)
    }

    /// One entry per sink that wants this decision, or this manifest's check warnings
    /// (``DaemonConfig/AlertSink/alertsOn(_:hasCheckWarnings:)``); `createdAt` is the wall-clock time.
    public func entries(for manifest: RoutedManifest, report: ManifestReport, createdAt: Double) -> [OutboxEntry] {
        let warned = !report.checkFindings(.warning).isEmpty
        let sinks = config.alerts.sinks.filter { $0.alertsOn(manifest.decision, hasCheckWarnings: warned) }
        guard !sinks.isEmpty else { return [] }
        let message = message(for: manifest, report: report)
        return sinks.map { sink in
            let (alert, subject) = Self.render(message, for: sink.type)
            return OutboxEntry(routeID: manifest.id, sink: sink.name, kind: sink.type, createdAt: createdAt, alert: alert,
                               subject: subject, digestLine: message.digestLine, event: message.event,
                               fallback: Self.renderFallback(message, for: sink.type).body)
        }
    }

    /// The message a notice about the service carries: the notice with this host and the
    /// configured facility, its texts bounded (``NoticeMessage``).
    func message(for notice: ServiceNotice) -> NoticeMessage {
        NoticeMessage(notice, licenseNumber: config.facility.licenseNumber, facility: config.facility.name, host: host)
    }

    /// One entry per configured sink, whatever decisions it alerts on (a notice about the service
    /// concerns every sink), rendered for its kind, with its minimal version, marked to be sent
    /// on its own (``OutboxEntry/isServiceNotice``). Their ids are the notice's id and the sink's
    /// name, as a manifest's are its route id and the sink's; characters other than letters,
    /// digits, `-` and `_` in the notice's id become `_`, as it names files. `createdAt` is the
    /// wall-clock time (CloudEvents' `ce-time`). Post them with ``AlertDispatcher/post(_:)``.
    public func entries(for notice: ServiceNotice, createdAt: Double) -> [OutboxEntry] {
        let message = message(for: notice)
        return config.alerts.sinks.map { sink in
            let full = sink.type.kind.notice(message)
            var entry = OutboxEntry(routeID: message.id, sink: sink.name, kind: sink.type, createdAt: createdAt,
                                    alert: full.text, subject: full.subject, digestLine: message.digestLine, event: message.event,
                                    fallback: sink.type.kind.noticeFallback(message).text)
            entry.isServiceNotice = true
            return entry
        }
    }

    /// The body (and for e-mail the subject) of one alert for a type of sink.
    public static func render(_ message: AlertMessage, for type: DaemonConfig.AlertSink.SinkType) -> (body: String, subject: String?) {
        let rendered = type.kind.alert(message)
        return (rendered.text, rendered.subject)
    }

    /// The minimal version of one alert for a type of sink (``SinkKind/fallback(_:)``).
    public static func renderFallback(_ message: AlertMessage, for type: DaemonConfig.AlertSink.SinkType) -> (body: String, subject: String?) {
        let rendered = type.kind.fallback(message)
        return (rendered.text, rendered.subject)
    }

    /// This machine's name, as `gethostname(2)` gives it.
    public static func hostName() -> String {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

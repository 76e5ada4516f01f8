import BatchgateCore
import BatchgateSystem
import BatchgateConfig
import BatchgateHTTP

/// The alert senders, one per sink: fed with the entries the router publishes and, at start, with
/// what an earlier run left in `outbox/`. Called from the daemon's queue only.
public final class AlertDispatcher: @unchecked Sendable {
    private let outbox: Outbox
    private let transport: any AlertTransport
    private let log: Logger
    private let clock: @Sendable () -> Double
    private let random: @Sendable () -> Double
    private let host: String
    private var config: DaemonConfig
    private var secrets: [String: SinkSecrets]
    private var senders: [String: AlertSender] = [:]
    /// Seconds between two log summaries of a failing sink (``AlertSender``).
    private let summaryInterval: Double
    /// Seconds between two listings of `outbox/dead/` by each sender.
    private let deadLetterRecountInterval: Double
    /// Told of each change of a sink's count of alerts waiting or dead (the daemon's `STATUS=`).
    private let onChange: @Sendable () -> Void

    /// How often each sender lists `outbox/dead/` on its own, by default: letters removed or moved
    /// back by hand, or by a `batchgate alert retry` whose signal did not arrive, leave the count
    /// within this time. A listing reads names only (no file), so it costs little even with
    /// thousands of letters.
    public static let deadLetterRecountInterval = 30.0

    /// Senders for the sinks of `config`, whose `secrets` are read already; `transport` defaults to
    /// libcurl, naming `host` in Message-IDs. A failing sink is summed up in the log every
    /// `summaryInterval` seconds (ten minutes); each sender counts its dead letters every
    /// `deadLetterRecountInterval` seconds. `onChange` is called, from any sender's queue, each
    /// time a sink's count of alerts waiting or dead changes (``statistics()``): it must be
    /// cheap and must not wait, since a burst of alerts calls it for every batch a sender takes.
    public init(outbox: Outbox, config: DaemonConfig, secrets: [String: SinkSecrets], log: Logger, transport: (any AlertTransport)? = nil,
                host: String = AlertPlanner.hostName(), clock: @escaping @Sendable () -> Double = System.wallClock,
                random: @escaping @Sendable () -> Double = { Double.random(in: 0..<1) }, summaryInterval: Double = 600,
                deadLetterRecountInterval: Double = AlertDispatcher.deadLetterRecountInterval,
                onChange: @escaping @Sendable () -> Void = {}) {
        self.summaryInterval = summaryInterval
        self.deadLetterRecountInterval = deadLetterRecountInterval
        self.onChange = onChange
        self.outbox = outbox
        self.config = config
        self.secrets = secrets
        self.log = log
        self.transport = transport ?? LibcurlAlertTransport(host: host)
        self.host = host
        self.clock = clock
        self.random = random
        CurlRuntime.initialize()  // before any sender thread exists
        makeSenders()
    }

    /// Resumes delivery of everything waiting in `outbox/`. Entries for a sink no longer
    /// configured, or rendered for another kind of sink than the one now under that name, move to
    /// `outbox/dead/` with the reason. Service notices left as drafts by a crash are published
    /// first (``Outbox/publishNoticeDrafts()``). Each sender counts its dead letters at its start
    /// and again after any burial here.
    public func resume() {
        // Notices a crash caught between their draft and their publish; with no sink, they stay
        // drafts until a start that has sinks, as the rest of the outbox stays.
        if !config.alerts.sinks.isEmpty {
            do {
                let published = try outbox.publishNoticeDrafts()
                if !published.isEmpty {
                    log.notice("published \(published.count) service notice(s) that a stop left as drafts in \(outbox.folder)")
                }
            } catch {
                log.error("cannot publish the service notices left as drafts in \(outbox.folder): \(error); they are tried again at the next start")
            }
        }
        let found: (entries: [OutboxEntry], unreadable: [String])
        do {
            found = try outbox.waiting()
        } catch {
            log.error("cannot read the outbox \(outbox.folder): \(error); waiting alerts are sent after the next restart")
            return
        }
        for name in found.unreadable {
            log.error("cannot read the alert \(outbox.folder)/\(name); it is left there untouched: move it away or fix it")
        }
        guard !found.entries.isEmpty else { return }
        guard !config.alerts.sinks.isEmpty else {
            // Alerts off (say `run --root`): what waits is kept for when sinks are configured again.
            log.warning("\(found.entries.count) alert(s) wait in \(outbox.folder), but no alert sink is configured; they are kept there")
            return
        }
        log.notice("resuming delivery of \(found.entries.count) alert(s) waiting in \(outbox.folder)")
        add(found.entries)
    }

    /// Looks at `outbox/` again while running (SIGUSR2, which `batchgate alert retry` sends
    /// after moving dead letters back): hands every entry there to its sender, as a start does,
    /// and has each sender count its dead letters again. A sender takes only entries it does not
    /// hold yet, and reads each again on its own queue first, so one delivered since the listing
    /// is not sent twice (``AlertSender/add(_:fromListing:)``).
    public func rescan() {
        let found: (entries: [OutboxEntry], unreadable: [String])
        do {
            found = try outbox.waiting()
        } catch {
            log.error("cannot read the outbox \(outbox.folder): \(error); what waits there is sent after the next restart")
            return
        }
        for name in found.unreadable {
            log.error("cannot read the alert \(outbox.folder)/\(name); it is left there untouched: move it away or fix it")
        }
        log.notice("looked at \(outbox.folder) again: \(found.entries.count) alert(s) there, each handed to its sink's sender unless it holds it already")
        if config.alerts.sinks.isEmpty {
            if !found.entries.isEmpty { log.warning("\(found.entries.count) alert(s) wait in \(outbox.folder), but no alert sink is configured; they are kept there") }
        } else {
            add(found.entries, fromListing: true)
        }
        recountDeadLetters()
    }

    /// Writes the entries of a ``ServiceNotice`` (``AlertPlanner/entries(for:createdAt:)``) into
    /// the outbox and publishes them durably at once (a draft, the flush, the publish; see
    /// ``Outbox/post(_:)``), outside any route, then hands them to their senders, which send each
    /// on its own, with retries, a minimal version and a dead letter like any alert. Called from
    /// the daemon's queue, as ``add(_:)`` is. Throws when an entry cannot be written or flushed:
    /// the notice is then not promised, and posting the same entries again is safe.
    public func post(_ entries: [OutboxEntry]) throws(SystemError) {
        try outbox.post(entries)
        add(entries)
    }

    /// Hands newly published entries to their senders.
    public func add(_ entries: [OutboxEntry]) {
        add(entries, fromListing: false)
    }

    /// Hands entries to their senders; `fromListing` when they come from a listing of the
    /// outbox made while the senders run (``rescan()``).
    func add(_ entries: [OutboxEntry], fromListing: Bool) {
        guard !entries.isEmpty else { return }
        var bySink: [String: [OutboxEntry]] = [:]
        for entry in entries { bySink[entry.sink, default: []].append(entry) }
        for (name, entries) in bySink {
            guard let sender = senders[name], let sink = config.alerts.sinks.first(where: { $0.name == name }) else {
                bury(entries, reason: "no sink named \(name) is configured any more")
                continue
            }
            let (matching, other) = entries.partitioned { $0.kind == sink.type }
            if !other.isEmpty {
                bury(other, reason: "the alert was written for a \(other.first?.kind.rawValue ?? "") sink, but \(name) is now a \(sink.type.rawValue) sink")
                // Buried here, under a name the sender counts: it lists the folder again after them.
                sender.recountDeadLetters()
            }
            sender.add(matching, fromListing: fromListing)
        }
    }

    /// A new configuration after a reload: senders of removed sinks bury what they hold, new sinks
    /// get a sender, the rest take the new settings and secrets.
    public func reload(_ next: DaemonConfig, secrets nextSecrets: [String: SinkSecrets]) {
        let sink = { (config: DaemonConfig, name: String) in config.alerts.sinks.first { $0.name == name } }
        let removed = senders.keys.filter { sink(next, $0) == nil }
        for name in removed {
            senders[name]?.retire(reason: "the sink \(name) was removed from the configuration")
            senders[name] = nil
        }
        let typeChanged = next.alerts.sinks.filter { new in sink(config, new.name).map { $0.type != new.type } ?? false }
        config = next
        secrets = nextSecrets
        for sink in typeChanged {
            senders[sink.name]?.retire(reason: "the sink \(sink.name) became a \(sink.type.rawValue) sink; this alert was written for its old kind")
            senders[sink.name] = nil
        }
        makeSenders()
        // A new sender counts at its start; the others count again, since a sink added or
        // removed changes which file names are whose (`ops` beside `team-ops`).
        recountDeadLetters()
    }

    /// How many alerts wait in each sender (tests).
    var waitingCounts: [String: Int] { senders.mapValues(\.waitingCount) }

    /// Each configured sink's statistics, in the configuration's order. Reads only the senders'
    /// counters (no file, no wait on a sender's queue), so it is cheap enough for every status line.
    public func statistics() -> [SinkStatistics] {
        config.alerts.sinks.compactMap { senders[$0.name]?.statistics.current }
    }

    /// Has each sender list `outbox/dead/` again and set its count of dead letters from it, on its
    /// own queue, after what is queued there already (``AlertSender/recountDeadLetters()``).
    func recountDeadLetters() {
        for sender in senders.values { sender.recountDeadLetters() }
    }

    private var context: AlertSender.Context {
        AlertSender.Context(transfer: config.alerts, policy: RetryPolicy(maximumAge: config.alerts.maxAge.seconds), host: host,
                            facility: config.facility.name ?? config.facility.licenseNumber, sinkNames: config.alerts.sinks.map(\.name))
    }

    private func makeSenders() {
        for sink in config.alerts.sinks {
            // `DaemonConfig.sinkSecrets` gives every sink its entry; a sink without one would
            // have its alerts dead-lettered for a reason that is not true, so it is a bug.
            guard let secrets = secrets[sink.name] else { preconditionFailure("no secrets were resolved for the alert sink \(sink.name)") }
            if let sender = senders[sink.name] {
                sender.update(sink: sink, secrets: secrets, context: context)
            } else {
                senders[sink.name] = AlertSender(sink: sink, secrets: secrets, context: context, outbox: outbox, transport: transport,
                                                 log: log, clock: clock, random: random, summaryInterval: summaryInterval,
                                                 deadLetterRecountInterval: deadLetterRecountInterval, onChange: onChange)
            }
        }
    }

    /// Gives up entries no configured sink can send: their sink is gone or of another kind now.
    private func bury(_ entries: [OutboxEntry], reason: String) {
        for entry in entries {
            do {
                try outbox.bury(entry, reason: reason, cause: .configuration, sync: true)
                log.error("gave up on alert \(entry.id): \(reason); kept in \(outbox.deadFolder)/\(entry.fileName)")
            } catch {
                log.error("gave up on alert \(entry.id) (\(reason)), but cannot move it to \(outbox.deadFolder): \(error)")
            }
        }
    }
}

extension Array {
    /// The elements that satisfy `belongs`, and the rest, each in order.
    func partitioned(_ belongs: (Element) -> Bool) -> (matching: [Element], other: [Element]) {
        var matching: [Element] = [], other: [Element] = []
        for element in self { if belongs(element) { matching.append(element) } else { other.append(element) } }
        return (matching, other)
    }
}

import BatchgateCore
import Dispatch
import BatchgateSystem
import BatchgateConfig
import BatchgateHTTP

/// Delivers the alerts waiting for one sink, on a queue of its own so that a slow or hung
/// endpoint delays neither routing nor the other sinks.
///
/// Oldest first (by ``OutboxEntry/ageStart``, so the alert nearest its `maxAge` goes first), one
/// message at a time, at most one per ``DaemonConfig/AlertSink/rateLimit``; when more than the
/// sink's digest threshold are due, one digest stands for them all (service notices excepted:
/// each goes on its own). After each attempt the ``RetryPolicy`` decides:
/// delivered entries leave the outbox, failed ones are rewritten with their next attempt time,
/// given-up ones move to `outbox/dead/` (an error in the log, once each). What the sink's
/// failures look like in the log is ``SinkHealth``'s to say: a line when it starts failing,
/// changes kind or delivers again, a summary every ``summaryInterval`` while it fails, and each
/// retry at debug level only. The count of this sink's dead letters in ``SinkStatistics`` is
/// listed here too, on the queue that buries them, so that a listing and a burial never race.
/// Everything mutable is touched only on `queue` (hence `@unchecked Sendable`).
final class AlertSender: @unchecked Sendable {
    /// The most alerts one digest lists; more wait for the next.
    static let digestLimit = 200

    let name: String
    private let queue: DispatchQueue
    private var sink: DaemonConfig.AlertSink
    private var secrets: SinkSecrets
    private var context: Context
    private let outbox: Outbox
    private let transport: any AlertTransport
    private let log: Logger
    private let clock: @Sendable () -> Double
    private let random: @Sendable () -> Double
    private var waiting: [String: OutboxEntry] = [:]
    /// The ids in `waiting`, oldest age start first (kept sorted as entries come, never re-sorted
    /// whole).
    private var order: [(ageStart: Double, id: String)] = []
    /// Monotonic seconds of the last send, for the rate limit (a wall-clock step cannot stall it).
    private var lastSentAt: Double?
    private var timer: DispatchSourceTimer?
    /// Fires every ``summaryInterval`` while the sink fails.
    private var summaryTimer: DispatchSourceTimer?
    /// Seconds between two summaries of a failing sink in the log.
    private let summaryInterval: Double
    /// Lists `outbox/dead/` every few seconds (``AlertDispatcher/deadLetterRecountInterval``), so
    /// that letters removed or moved back by hand (or by `batchgate alert retry` whose signal did
    /// not arrive) leave the count.
    private var recountTimer: DispatchSourceTimer?
    /// Why the last listing of `outbox/dead/` failed, logged once; nil after one that worked.
    private var deadListingFailure: String?
    private var health: SinkHealth
    private var pumpQueued = false
    private var retired = false
    /// What this sender holds and has done, for the daemon's status line and metrics.
    let statistics: SinkStatisticsBox

    /// What every sender shares: transfer limits, the retry policy, the digest's context, and the
    /// names of every configured sink (a dead letter's file name tells its sink only among them all:
    /// `-ops.json` ends `x-team-ops.json` too).
    struct Context: Sendable, Equatable {
        var transfer: DaemonConfig.Alerts
        var policy: RetryPolicy
        var host: String
        var facility: String?
        var sinkNames: [String] = []
    }

    /// A sender for `sink`; while the sink fails, its state is summed up in the log every
    /// `summaryInterval` seconds. Its dead letters are counted at once, then every
    /// `deadLetterRecountInterval` seconds; `onChange` hears of every change of the count waiting
    /// or dead (``SinkStatisticsBox``).
    init(sink: DaemonConfig.AlertSink, secrets: SinkSecrets, context: Context, outbox: Outbox, transport: any AlertTransport,
         log: Logger, clock: @escaping @Sendable () -> Double, random: @escaping @Sendable () -> Double, summaryInterval: Double = 600,
         deadLetterRecountInterval: Double = AlertDispatcher.deadLetterRecountInterval, onChange: @escaping @Sendable () -> Void = {}) {
        name = sink.name
        self.summaryInterval = summaryInterval
        health = SinkHealth(sink: sink.name, folder: outbox.folder)
        self.sink = sink
        self.secrets = secrets
        self.context = context
        self.outbox = outbox
        self.transport = transport
        self.log = log
        self.clock = clock
        self.random = random
        statistics = SinkStatisticsBox(sink: sink.name, onChange: onChange)
        queue = DispatchQueue(label: "batchgate.alerts.\(sink.name)")
        let timer = DispatchSource.makeTimerSource(queue: queue)
        timer.setEventHandler { [weak self] in self?.pump() }
        timer.schedule(deadline: .distantFuture)
        timer.resume()
        self.timer = timer
        // Counted first thing on the queue, before anything handed over after this init.
        queue.async { [weak self] in self?.countDeadLetters() }
        let recount = DispatchSource.makeTimerSource(queue: queue)
        recount.setEventHandler { [weak self] in self?.countDeadLetters() }
        let interval = DispatchTimeInterval.milliseconds(max(1, Int(deadLetterRecountInterval * 1000)))
        recount.schedule(deadline: .now() + interval, repeating: interval, leeway: .seconds(1))
        recount.resume()
        recountTimer = recount
    }

    deinit {
        timer?.cancel()
        summaryTimer?.cancel()
        recountTimer?.cancel()
    }

    /// Takes new or recovered entries (ids already held are ignored) and sends what is due.
    ///
    /// `fromListing`: the entries were read from a listing of `outbox/` made on another queue (a
    /// rescan), so each may have been delivered or given up, and its file removed, since. Each is
    /// then read again here, on this queue, where alone this sink's files are removed: one gone
    /// is not taken (it would be sent twice), and one there is taken as it is now.
    func add(_ entries: [OutboxEntry], fromListing: Bool = false) {
        queue.async { [self] in
            let latest = clock() + context.policy.maximumDelay
            for var entry in entries where waiting[entry.id] == nil {
                if fromListing {
                    guard let current = try? outbox.entry(named: entry.fileName), current.id == entry.id else { continue }
                    entry = current
                }
                // A next attempt further off than the longest backoff comes from a clock that was
                // ahead when it was written: not waited for.
                entry.nextAttemptAt = min(entry.nextAttemptAt, latest)
                waiting[entry.id] = entry
                insertInOrder(entry)
            }
            countWaiting()
            queuePump()
        }
    }

    private func insertInOrder(_ entry: OutboxEntry) {
        let key = (entry.ageStart, entry.id)
        if let last = order.last, (last.ageStart, last.id) > key {
            var low = 0, high = order.count
            while low < high {
                let middle = (low + high) / 2
                if (order[middle].ageStart, order[middle].id) < key { low = middle + 1 } else { high = middle }
            }
            order.insert(key, at: low)
        } else {
            order.append(key)
        }
    }

    private func forget(_ ids: Set<String>) {
        for id in ids { waiting[id] = nil }
        order.removeAll { ids.contains($0.id) }
        countWaiting()
    }

    /// Publishes how many alerts wait and since when the oldest has (`order` is oldest first).
    private func countWaiting() {
        let count = waiting.count, oldest = order.first?.ageStart
        statistics.update {
            $0.waiting = count
            $0.oldestWaitingSince = oldest
        }
    }

    /// Lists `outbox/dead/` again, on the sender's queue, after whatever was queued before: the
    /// dispatcher asks it after burying entries under this sink's name, and at a rescan.
    func recountDeadLetters() {
        queue.async { [self] in countDeadLetters() }
    }

    /// Sets the count of this sink's dead letters from what `outbox/dead/` holds now (by name,
    /// nothing read). On the queue, where alone this sender buries: no burial falls between the
    /// listing and the count. An unreadable folder leaves the count as it was, with an error in the
    /// log once for each new reason.
    private func countDeadLetters() {
        guard !retired else { return }
        let sinks = context.sinkNames.contains(name) ? context.sinkNames : context.sinkNames + [name]
        let count: Int
        do {
            count = try outbox.deadLetterCounts(sinks: sinks)[name, default: 0]
        } catch {
            let reason = error.description
            if reason != deadListingFailure {
                log.error("cannot list the dead letters in \(outbox.deadFolder) to count those of \(name): \(reason); the count shown stays as it was")
            }
            deadListingFailure = reason
            return
        }
        deadListingFailure = nil
        statistics.update { $0.deadLetters = count }
    }

    /// New settings for the sink (a reload).
    func update(sink: DaemonConfig.AlertSink, secrets: SinkSecrets, context: Context) {
        queue.async { [self] in
            self.sink = sink
            self.secrets = secrets
            self.context = context
            queuePump()
        }
    }

    /// The sink left the configuration (a reload): the sender stops, and what waits for it stays
    /// in `outbox/` (sent if the sink comes back before a restart; dead-lettered at a start
    /// where it is still missing).
    func retire(reason: String) {
        queue.async { [self] in
            retired = true
            timer?.cancel()
            recountTimer?.cancel()
            summaryTimer?.cancel()
            summaryTimer = nil
            if !waiting.isEmpty {
                log.warning("\(reason): its \(waiting.count) waiting alert(s) stay in \(outbox.folder); at the next start they are sent if a sink of that name and type is configured, else moved to \(outbox.deadFolder)")
            }
            waiting = [:]
            order = []
            countWaiting()
        }
    }

    /// How many alerts wait (on the sender's queue).
    var waitingCount: Int { queue.sync { waiting.count } }

    // MARK: Sending

    private func queuePump() {
        guard !pumpQueued else { return }
        pumpQueued = true
        queue.async { [self] in
            pumpQueued = false
            pump()
        }
    }

    /// Sends one message if one is due and the rate limit allows, then comes back for the next;
    /// otherwise sets the timer for when something will be due.
    private func pump() {
        guard !retired, !waiting.isEmpty else { return }
        let now = clock()
        // Oldest first: enough due entries to decide between one alert and a digest.
        let wanted = sink.sendsDigests ? Self.digestLimit : 1
        var due: [OutboxEntry] = []
        var soonest = Double.infinity
        for (_, id) in order {
            guard let entry = waiting[id] else { continue }
            if entry.nextAttemptAt <= now {
                due.append(entry)
                if due.count == wanted { break }
            } else {
                soonest = min(soonest, entry.nextAttemptAt)
            }
        }
        guard let first = due.first else {
            arm(after: soonest - now)
            return
        }
        let monotonic = System.monotonicClock()
        if let last = lastSentAt, sink.isRateLimited, monotonic < last + sink.rateLimit.seconds {
            arm(after: last + sink.rateLimit.seconds - monotonic)
            return
        }
        var batch: [OutboxEntry]
        var delivery: AlertDelivery
        if let digestID = first.digestID {
            // A digest already tried: the same members under the same id.
            batch = due.filter { $0.digestID == digestID }
            delivery = self.delivery(for: batch, at: now, digestID: digestID)
        } else if first.refusal != nil || first.isServiceNotice {
            // Its full version was refused: its minimal version goes, alone. A notice about the
            // service goes alone too: it would be lost as one line of a digest of manifests.
            batch = [first]
            delivery = self.delivery(for: batch, at: now)
        } else {
            // Notices neither join a digest nor count towards its threshold.
            let fresh = due.filter { $0.digestID == nil && $0.refusal == nil && !$0.isServiceNotice }
            batch = sink.sendsDigests && fresh.count > sink.digestThreshold ? fresh : [first]
            delivery = self.delivery(for: batch, at: now)
            // A digest larger than its sink takes lists fewer alerts; the rest go in the next.
            let limit = sink.type.kind.digestBodyLimit
            while batch.count > 1, delivery.body.count > limit {
                batch = Array(batch.prefix(max(1, batch.count * limit / delivery.body.count * 9 / 10)))
                delivery = self.delivery(for: batch, at: now)
            }
            if batch.count > 1 { batch = record(digest: delivery.id, in: batch) }
        }
        let result = transport.send(delivery, to: sink, secrets: secrets, options: context.transfer)
        lastSentAt = System.monotonicClock()
        settle(batch, delivery: delivery, result: result)
        queuePump()
    }

    private func arm(after seconds: Double) {
        let delay = min(max(0, seconds), 24 * 3600)
        timer?.schedule(deadline: .now() + .milliseconds(Int((delay * 1000).rounded(.up))), leeway: .milliseconds(20))
    }

    /// One alert as rendered when it was written, or a digest of several.
    func delivery(for batch: [OutboxEntry], at now: Double, digestID: String? = nil) -> AlertDelivery {
        if batch.count == 1, let entry = batch.first, digestID == nil {
            return AlertDelivery(id: entry.refusal == nil ? entry.id : entry.minimalID, body: Array(entry.body.utf8), subject: entry.subject,
                                 event: entry.event, occurredAt: entry.createdAt)
        }
        let digest = AlertDigest(lines: batch.map(\.digestLine), host: context.host, time: Timestamp.iso8601(now),
                                 facility: context.facility)
        let id = digestID ?? "digest-" + Hex.string(SHA256.digest(Array(batch.map(\.id).joined(separator: "\n").utf8)).prefix(12))
        let message = sink.type.kind.digest(digest)
        return AlertDelivery(id: id, body: message.body, subject: message.subject, alertCount: batch.count)
    }

    /// Writes the digest's id into its members before it is sent, so that whatever happens next
    /// (a failure, a crash before every member is removed) the same digest is what goes again.
    private func record(digest id: String, in batch: [OutboxEntry]) -> [OutboxEntry] {
        let marked = batch.map { entry -> OutboxEntry in
            var entry = entry
            entry.digestID = id
            waiting[entry.id] = entry
            return entry
        }
        do {
            try outbox.save(marked, sync: true)
        } catch {
            log.error("cannot record digest \(id) in the outbox: \(error); if it must be sent again, it may go under another id")
        }
        return marked
    }

    private func settle(_ batch: [OutboxEntry], delivery: AlertDelivery, result: AlertAttemptResult) {
        let now = clock()
        let heldBefore = waiting.count
        let attempt = (batch.map(\.attempts).max() ?? 0) + 1
        let jitter = random()
        let what = batch.count == 1 ? "alert \(delivery.id)" : "digest \(delivery.id) of \(batch.count) alerts"
        // A refused credential or address is the sink's trouble even when the policy, not knowing
        // which part of a request a receiver objects to, first tries the minimal version.
        let refusalOfSink = result.problem == .credentials || result.problem == .address
        var retried: [OutboxEntry] = []
        var downgraded: [OutboxEntry] = []
        var delay = 0.0
        var delivered = 0
        var sinkFailed = false
        for entry in batch {
            let verdict = context.policy.verdict(after: result.attempt, attempt: attempt, age: now - entry.ageStart, jitter: jitter)
            switch verdict {
            case .delivered:
                delivered += 1
                forget([entry.id])
                do {
                    try outbox.remove(entry, sync: true)
                } catch {
                    log.error("delivered alert \(entry.id) to \(name), but cannot remove it from the outbox: \(error); it may be sent again")
                }
            case .retry(let seconds):
                sinkFailed = true
                var next = entry
                next.attempts = attempt
                next.nextAttemptAt = now + seconds
                next.lastAnswer = String(result.answer.prefix(HTTPTransfer.keptBodyBytes + 64))
                waiting[entry.id] = next
                retried.append(next)
                delay = seconds
            case .refusedContent where entry.refusal == nil && entry.fallback != nil:
                // Refused for what it says or how long it is: its minimal version goes once, at once
                // (the rate limit still applies), before anything is given up.
                sinkFailed = sinkFailed || refusalOfSink
                var next = entry
                next.attempts = attempt
                next.nextAttemptAt = now
                next.digestID = nil
                next.refusal = batch.count == 1 ? result.answer : "the digest \(delivery.id) it was in was refused: \(result.answer)"
                next.lastAnswer = String(result.answer.prefix(HTTPTransfer.keptBodyBytes + 64))
                waiting[entry.id] = next
                downgraded.append(next)
            case .refusedContent:
                sinkFailed = sinkFailed || refusalOfSink
                forget([entry.id])
                let why: String
                if let refusal = entry.refusal {
                    why = refusal == result.answer ? "its full and minimal versions were both refused"
                        : "its minimal version was refused too, after its full version was: \(refusal)"
                } else {
                    why = "it has no minimal version to send instead"
                }
                bury(entry, attempts: attempt, now: now, statement: "\(result.answer); \(why)", cause: refusalOfSink ? .configuration : .content)
            case .giveUp(let reason):
                sinkFailed = true
                forget([entry.id])
                let cause: BuriedFor = if case .refused = result.attempt { .configuration } else { .delivery }
                bury(entry, attempts: attempt, now: now, statement: "\(result.answer); \(reason)", cause: cause)
            }
        }
        let failed = delivered < batch.count
        statistics.update {
            $0.delivered += delivered
            if failed { $0.failedAttempts += 1 }
        }
        if delivered > 0 {
            note(health.record(.delivered, at: now, waiting: heldBefore))
        } else if sinkFailed, let problem = result.problem {
            note(health.record(.failed(problem, answer: result.answer, retrying: !retried.isEmpty), at: now, waiting: waiting.count))
        }
        if !downgraded.isEmpty {
            let each = batch.count == 1 ? "its minimal version" : "the minimal version of each of its alerts"
            // A refused credential is told once as the sink's trouble (above); each alert's step
            // towards the dead letters is then detail.
            let level: LogLevel = refusalOfSink ? .info : .warning
            log.write([(level, "\(name) refused \(what): \(result.answer.prefix(300)); sending \(each) instead")])
            do {
                try outbox.save(downgraded, sync: true)
            } catch {
                log.error("cannot record in the outbox that \(what) goes as its minimal version: \(error)")
            }
        }
        if case .answered(let status, _) = result.attempt, (200..<300).contains(status) {
            if batch.count == 1, let refusal = batch[0].refusal {
                // The full alert never arrived: a warning, with why, so that someone reads the report.
                log.warning("delivered the minimal version of alert \(batch[0].id) to \(name) as \(delivery.id) (\(result.answer.prefix(200))); the full version was refused (\(refusal.prefix(300))), so the report has the packages")
            } else if result.refusedRecipients.isEmpty {
                log.info("delivered \(what) to \(name) (\(result.answer.prefix(200)))")
            } else {
                // Sent to the others; those refused are told by name, since they will not get it.
                log.warning("delivered \(what) to \(name), but not to \(result.refusedRecipients.joined(separator: ", ")): \(result.answer.prefix(600))")
            }
        }
        if !retried.isEmpty {
            // Each retry is detail: the sink's state is told by `health`'s lines.
            log.debug("could not deliver \(what) to \(name) (attempt \(attempt)): \(result.answer.prefix(300)); trying again in \(Self.delayText(delay))")
            do {
                try outbox.save(retried, sync: true)
            } catch {
                log.error("cannot record the next attempt of \(what) in the outbox: \(error)")
            }
        }
    }

    /// Logs a line of ``SinkHealth``, and keeps the summary timer running exactly while the sink fails.
    private func note(_ line: SinkHealth.Line?) {
        if let line { log.write([(line.level, line.text)]) }
        if health.failure == nil {
            summaryTimer?.cancel()
            summaryTimer = nil
        } else if summaryTimer == nil {
            let timer = DispatchSource.makeTimerSource(queue: queue)
            let interval = DispatchTimeInterval.milliseconds(Int(summaryInterval * 1000))
            timer.schedule(deadline: .now() + interval, repeating: interval, leeway: .seconds(1))
            timer.setEventHandler { [weak self] in self?.summarize() }
            timer.resume()
            summaryTimer = timer
        }
    }

    /// The periodic line about a failing sink (on the queue, from the summary timer).
    private func summarize() {
        guard !retired, let line = health.summary(at: clock(), waiting: waiting.count, oldestWaitingSince: order.first?.ageStart) else { return }
        log.write([(line.level, line.text)])
    }

    /// Moves a given-up entry to `outbox/dead/` with `statement` (the answer and why it was
    /// given up, each said once) as its last answer, and logs one error for it.
    private func bury(_ entry: OutboxEntry, attempts: Int, now: Double, statement: String, cause: BuriedFor) {
        let attempts = "after \(attempts) attempt\(attempts == 1 ? "" : "s") over \(ElapsedText.format(now - entry.ageStart))"
        do {
            try outbox.bury(entry, reason: statement, cause: cause, sync: true)
            statistics.update {
                $0.givenUp += 1
                $0.deadLetters += 1
            }
            log.error("gave up on alert \(entry.id) for \(name) \(attempts): \(statement); kept in \(outbox.deadFolder)/\(entry.fileName)")
        } catch {
            log.error("gave up on alert \(entry.id) for \(name) \(attempts): \(statement); but cannot move it to \(outbox.deadFolder): \(error), so it stays in the outbox")
        }
    }

    /// A retry's delay as the config writes durations, to a tenth of a second below 10 s.
    private static func delayText(_ seconds: Double) -> String {
        DurationText.format(seconds < 10 ? .milliseconds(Int((seconds * 10).rounded()) * 100) : .seconds(Int(seconds.rounded())))
    }
}

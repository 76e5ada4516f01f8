import BatchgateCore
import BatchgateSystem

/// ``ServiceStatus`` for scripts: one JSON object whose shape stays (new members may be added;
/// none is renamed or changes kind within a `version`). Counts and ages are numbers, ages in
/// seconds; times are ISO 8601 UTC strings; what is not known is `null`.
///
///     {"version":1,"readAt":"…","stateRoot":"/var/lib/batchgate",
///      "daemon":{"running":true,"pid":4242,"startedAt":"…"},
///      "manifests":{"lastHour":{"since":"…","complete":true,"accepted":3,"needs-batch":1,"rejected":0,"total":4},
///                   "lastDay":{…},"sinceStart":{…}|null,"unreadableLines":0,"filesRead":["…/audit.jsonl"]}|null,
///      "waiting":[{"folder":"inbox","path":"…","files":2,"oldestSince":"…","oldestAgeSeconds":200}],
///      "alerts":{"sinks":[{"name":"ops","type":"slack","configured":true,"pending":3,"oldestPendingSince":"…",
///                          "oldestPendingAgeSeconds":724,"dead":1,"lastDeadAt":"…","lastDeadAnswer":"HTTP 500 …"}],
///                "unreadable":["…/outbox/x.json"]},
///      "catalog":{"items":null,"packages":null,
///                 "metrc":{"server":"…","cache":"…","cacheRead":true,
///                          "parts":[{"part":"items","syncedAt":"…","ageSeconds":300,"records":1200}],
///                          "unreachableSince":null,"unreachableReason":null}|null},
///      "problems":["cannot read the folder …: Permission denied"]}
public enum StatusJSON {
    /// The version of the shape; raised only when a member is renamed or changes kind.
    public static let version = 1

    /// The object, on one line, ending with a newline.
    public static func render(_ status: ServiceStatus) -> String {
        var json = JSONWriter()
        let now = status.readAt
        json.beginObject()
        json.key("version"); json.int(version)
        json.key("readAt"); json.string(Timestamp.iso8601(now))
        json.key("stateRoot"); json.string(status.stateRoot)

        json.key("daemon")
        json.beginObject()
        json.key("running"); json.bool(status.daemon.running)
        json.key("pid"); json.int(status.daemon.pid.map(Int.init))
        json.key("startedAt"); json.string(status.daemon.startedAt.map(Timestamp.iso8601))
        json.endObject()

        json.key("manifests")
        if let decisions = status.decisions {
            json.beginObject()
            json.key("lastHour"); window(decisions.lastHour, into: &json)
            json.key("lastDay"); window(decisions.lastDay, into: &json)
            json.key("sinceStart")
            if let start = decisions.sinceStart { window(start, into: &json) } else { json.string(nil) }
            json.key("unreadableLines"); json.int(decisions.unreadableLines)
            json.key("filesRead"); json.strings(decisions.filesRead)
            json.endObject()
        } else {
            json.string(nil)
        }

        json.key("waiting")
        json.beginArray()
        for folder in status.folders {
            json.beginObject()
            json.key("folder"); json.string(folder.name)
            json.key("path"); json.string(folder.path)
            json.key("files"); json.int(folder.count)
            json.key("oldestSince"); json.string(folder.oldestSince.map(Timestamp.iso8601))
            json.key("oldestAgeSeconds"); json.number(folder.oldestSince.map { age($0, at: now) })
            json.endObject()
        }
        json.endArray()

        json.key("alerts")
        json.beginObject()
        json.key("sinks")
        json.beginArray()
        for sink in status.sinks {
            json.beginObject()
            json.key("name"); json.string(sink.name)
            json.key("type"); json.string(sink.type)
            json.key("configured"); json.bool(sink.isConfigured)
            json.key("pending"); json.int(sink.pending)
            json.key("oldestPendingSince"); json.string(sink.oldestPendingSince.map(Timestamp.iso8601))
            json.key("oldestPendingAgeSeconds"); json.number(sink.oldestPendingSince.map { age($0, at: now) })
            json.key("dead"); json.int(sink.dead)
            json.key("lastDeadAt"); json.string(sink.lastDeadAt.map(Timestamp.iso8601))
            json.key("lastDeadAnswer"); json.string(sink.lastDeadAnswer)
            json.endObject()
        }
        json.endArray()
        json.key("unreadable"); json.strings(status.unreadableAlerts)
        json.endObject()

        json.key("catalog")
        json.beginObject()
        json.key("items"); json.string(status.catalog.itemsFile)
        json.key("packages"); json.string(status.catalog.packagesFile)
        json.key("metrc")
        if let metrc = status.catalog.metrc {
            json.beginObject()
            json.key("server"); json.string(metrc.server)
            json.key("cache"); json.string(metrc.cache)
            json.key("cacheRead"); json.bool(metrc.cacheRead)
            json.key("parts")
            json.beginArray()
            for part in metrc.parts {
                json.beginObject()
                json.key("part"); json.string(part.name)
                json.key("syncedAt"); json.string(part.syncedAt.map(Timestamp.iso8601))
                json.key("ageSeconds"); json.number(part.syncedAt.map { age($0, at: now) })
                json.key("records"); json.int(part.records)
                json.endObject()
            }
            json.endArray()
            json.key("unreachableSince"); json.string(metrc.unreachableSince.map(Timestamp.iso8601))
            json.key("unreachableReason"); json.string(metrc.unreachableReason)
            json.endObject()
        } else {
            json.string(nil)
        }
        json.endObject()

        json.key("problems"); json.strings(status.problems)
        json.endObject()
        return json.text + "\n"
    }

    /// One window's counts: `since`, `complete`, one member per decision, `total`.
    private static func window(_ window: DecisionCounts.Window, into json: inout JSONWriter) {
        json.beginObject()
        json.key("since"); json.string(Timestamp.iso8601(window.since))
        json.key("complete"); json.bool(window.complete)
        for decision in Decision.allCases {
            json.key(decision.rawValue); json.int(window[decision])
        }
        json.key("total"); json.int(window.total)
        json.endObject()
    }

    /// Whole seconds from `seconds` to `now`; never negative (a clock set back).
    private static func age(_ seconds: Double, at now: Double) -> Double {
        max(0, (now - seconds).rounded(.down))
    }
}

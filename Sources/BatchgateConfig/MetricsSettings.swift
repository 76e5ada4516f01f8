import BatchgateSystem

extension DaemonConfig {
    /// `metrics:`: a file in Prometheus' text format that node_exporter's textfile collector reads,
    /// written by the daemon every `interval`. Absent or `null`: no metrics file.
    ///
    /// ```yaml
    /// metrics:
    ///   textfile: /var/lib/prometheus/node-exporter/batchgate.prom
    ///   interval: 15s
    /// ```
    public struct Metrics: Decodable, Sendable, Equatable {
        /// The file written: an absolute path ending in `.prom`, the only names the collector reads
        /// (so the temporary file written beside it first is never read half-written).
        public var textfile: String
        /// How often it is written.
        public var interval: Duration

        /// The shortest interval: node_exporter is scraped every 15 s to 1 min, so writing more
        /// often than this only spends the disk.
        public static let shortestInterval = Duration.seconds(5)
        /// The longest interval: a file older than this looks like a daemon that stopped writing.
        public static let longestInterval = Duration.seconds(600)

        /// A metrics file at `textfile`, written every `interval` (15 s unless given).
        public init(textfile: String, interval: Duration = .seconds(15)) {
            self.textfile = textfile
            self.interval = interval
        }

        enum CodingKeys: String, CodingKey, CaseIterable {
            case textfile, interval
        }

        /// Reads the settings: `textfile` is required, `interval` takes its default; see
        /// ``DaemonConfig/init(from:)``.
        public init(from decoder: any Decoder) throws {
            let settings = try decoder.settings(keyedBy: CodingKeys.self)
            textfile = try settings.requiredSetting(
                .textfile, .metricsTextfile,
                missing: "needs textfile: the .prom file node_exporter's textfile collector reads, such as /var/lib/prometheus/node-exporter/batchgate.prom"
            )
            interval = try settings.setting(.interval, .metricsInterval, default: Metrics(textfile: textfile).interval)
        }
    }
}

extension SettingFormat where Value == String {
    /// The metrics file: absolute (the daemon's working folder means nothing to node_exporter), and
    /// named `*.prom`, or the collector never reads it.
    static var metricsTextfile: Self {
        Self(expected: "an absolute path ending in .prom, such as /var/lib/prometheus/node-exporter/batchgate.prom") { text throws(SettingRefusal) in
            guard text.hasPrefix("/"), text.hasSuffix(".prom"), !text.contains("\0") else { throw .unreadable }
            // A name before the extension: `/x/.prom` is the extension alone.
            guard let name = text.split(separator: "/").last, name.count > ".prom".count else { throw .unreadable }
            return text
        }
    }
}

extension SettingFormat where Value == Duration {
    /// How often the metrics file is written: from 5s to 10m.
    static var metricsInterval: Self {
        let shortest = DaemonConfig.Metrics.shortestInterval, longest = DaemonConfig.Metrics.longestInterval
        let range = "from \(DurationText.format(shortest)) to \(DurationText.format(longest))"
        return Self(expected: "a duration such as 15s or 1m, \(range)") { text throws(SettingRefusal) in
            let duration = try DurationText.duration(text, upTo: longest)
            guard duration >= shortest else { throw .notAllowed(range) }
            return duration
        }
    }
}

import Testing
@testable import BatchgateConfig

/// `metrics:`: the node_exporter textfile the daemon writes, its default interval, and what is
/// refused, each message naming the key.
@Suite("metrics")
struct MetricsSettingsTests {
    private func load(_ yaml: String) throws(ConfigError) -> DaemonConfig {
        try ConfigLoader.load(yaml: yaml, fileName: "batchgate.yaml", baseDirectory: "/etc/batchgate")
    }

    private func refusal(_ yaml: String) -> String? {
        do {
            _ = try load(yaml)
            return nil
        } catch {
            return error.description
        }
    }

    @Test func aTextfileAloneIsWrittenEveryFifteenSeconds() throws {
        let metrics = try #require(try load("metrics:\n  textfile: /var/lib/prometheus/node-exporter/batchgate.prom\n").metrics)
        #expect(metrics == DaemonConfig.Metrics(textfile: "/var/lib/prometheus/node-exporter/batchgate.prom", interval: .seconds(15)))
        let inline = try load("metrics: {textfile: /srv/m/batchgate.prom, interval: 1m}").metrics
        #expect(inline == DaemonConfig.Metrics(textfile: "/srv/m/batchgate.prom", interval: .seconds(60)))
    }

    @Test func absentOrNullWritesNoFile() throws {
        #expect(try load("fsync: true").metrics == nil)
        #expect(try load("metrics:\n").metrics == nil)
        #expect(try load("metrics: null").metrics == nil)
    }

    @Test(arguments: [
        ("textfile: batchgate.prom", "metrics.textfile", "an absolute path ending in .prom"),
        ("textfile: /var/lib/prometheus/node-exporter/batchgate.txt", "metrics.textfile", "an absolute path ending in .prom"),
        ("textfile: /var/lib/prometheus/node-exporter/.prom", "metrics.textfile", "an absolute path ending in .prom"),
        ("textfile: /var/lib/prometheus/node-exporter/", "metrics.textfile", "an absolute path ending in .prom"),
        ("textfile: /m/b.prom\n  interval: 4s", "metrics.interval", "from 5s to 10m"),
        ("textfile: /m/b.prom\n  interval: 11m", "metrics.interval", "at most 10m"),
        ("textfile: /m/b.prom\n  interval: soon", "metrics.interval", "a duration such as 15s or 1m, from 5s to 10m"),
        ("textfile: /m/b.prom\n  intervall: 15s", "metrics.intervall", "did you mean interval?"),
        ("interval: 15s", "metrics", "needs textfile"),
    ])
    func valuesRefused(settings: String, key: String, reason: String) throws {
        let message = try #require(refusal("metrics:\n  \(settings)\n"))
        #expect(message.contains(key) && message.contains(reason), "\(message)")
    }
}

import BatchgateCore

/// One message that stands for many alerts waiting for one chat or mail sink (a burst of
/// manifests needing batches), so a channel gets one post instead of fifty. Each kind of sink
/// shows it in its own way (``SinkKind/digest(_:)``).
struct AlertDigest: Sendable, Equatable {
    /// The alerts' digest lines, oldest first.
    var lines: [String]
    var host: String
    var time: String
    var facility: String?

    init(lines: [String], host: String, time: String, facility: String?) {
        self.lines = lines
        self.host = host
        self.time = time
        self.facility = facility
    }

    /// "batchgate: 7 manifests need attention (North)": the heading every kind of sink shows.
    var title: String {
        let place = facility.map { " (\($0))" } ?? ""
        return "batchgate: \(lines.count) manifests need attention\(place)"
    }
}

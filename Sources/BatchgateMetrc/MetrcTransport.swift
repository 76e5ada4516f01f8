/// Sends one GET to Metrc: HTTP Basic with the vendor key as the user and the user key as the
/// password. Blocking, called from the client's own threads. The real one goes through libcurl;
/// tests give one that answers as Metrc would.
public protocol MetrcTransport: Sendable {
    func get(url: String, user: String, password: String) -> MetrcTransportResult
}

/// What one GET got.
public enum MetrcTransportResult: Sendable, Equatable {
    /// An HTTP answer: its status, `Retry-After` in seconds when it had one, and its body.
    case answered(status: Int, retryAfter: Double?, body: [UInt8])
    /// No answer: no connection, a timeout, a TLS failure, an answer too large; in words.
    case failed(String)
}

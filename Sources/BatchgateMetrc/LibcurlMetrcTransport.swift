import BatchgateCore
import BatchgateHTTP

/// Metrc's API through libcurl: HTTP Basic, JSON asked for, the body whole up to what the core
/// reads of one answer (``ManifestLimits/maximumMetrcAnswerSize``).
public struct LibcurlMetrcTransport: MetrcTransport {
    public var options: TransferOptions

    public init(options: TransferOptions = TransferOptions(connectTimeout: .seconds(10), timeout: .seconds(60))) {
        self.options = options
    }

    /// A transport with these timeouts and the system's CA certificates.
    public init(connectTimeout: Duration, timeout: Duration) {
        self.init(options: TransferOptions(connectTimeout: connectTimeout, timeout: timeout))
    }

    public func get(url: String, user: String, password: String) -> MetrcTransportResult {
        do {
            let answer = try HTTPTransfer.get(url: url, basicAuth: (user, password), headers: [("Accept", "application/json")],
                                              options: options, maximumBodyBytes: ManifestLimits.maximumMetrcAnswerSize)
            return .answered(status: answer.status, retryAfter: answer.retryAfter, body: answer.body)
        } catch {
            return .failed(error.description)
        }
    }
}

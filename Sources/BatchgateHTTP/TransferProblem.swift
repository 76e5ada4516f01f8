import CCurl

/// What kind of trouble a transfer met, named after where a person looks for its cause: the one
/// mapping from libcurl's codes and HTTP statuses to kinds, shared by every client of this module.
/// What to tell a person about each kind is the caller's to say, in its own words (an alert sink's
/// advice names the sink's settings; see BatchgateAlerts), since this module knows nothing of the
/// configuration.
///
/// Two failures of the same kind have the same cause to look for (a 502 and a 503 alike: the
/// receiver's own problem), so a log can tell a change of kind apart from more of the same.
public enum TransferProblem: Sendable, Hashable {
    /// The host name in the URL does not resolve (CURLE_COULDNT_RESOLVE_HOST, _PROXY).
    case hostNotFound
    /// Nothing accepts the connection (CURLE_COULDNT_CONNECT).
    case noConnection
    /// The connection was made, then closed without an answer (CURLE_GOT_NOTHING, _SEND_ERROR, _RECV_ERROR).
    case connectionLost
    /// No answer in time (CURLE_OPERATION_TIMEDOUT, HTTP 408).
    case timeout
    /// The peer's TLS certificate is not trusted (CURLE_PEER_FAILED_VERIFICATION, _SSL_CACERT_BADFILE, _SSL_ISSUER_ERROR).
    case certificate
    /// The TLS handshake failed (CURLE_SSL_CONNECT_ERROR).
    case tlsHandshake
    /// A mail server without STARTTLS where TLS is required (CURLE_USE_SSL_FAILED).
    case tlsRequired
    /// The credential was refused: HTTP 401 or 403, a refused SMTP login (CURLE_LOGIN_DENIED).
    case credentials
    /// HTTP 404 or 410: nothing (any more) at the URL.
    case address
    /// HTTP 413: the alert is larger than the receiver takes.
    case tooLarge
    /// HTTP 429: the receiver wants fewer messages.
    case rateLimited
    /// HTTP 5xx: the receiver's own problem.
    case receiverError
    /// Another HTTP status, or an SMTP reply code, with no kind of its own.
    case status(Int)
    /// Another libcurl code, with no kind of its own.
    case transfer(Int32)

    /// The kind of a failed transfer's `CURLcode`.
    public init(curlCode code: Int32) {
        func matches(_ codes: CURLcode...) -> Bool { codes.contains { Int32($0.rawValue) == code } }
        if matches(CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_RESOLVE_PROXY) {
            self = .hostNotFound
        } else if matches(CURLE_COULDNT_CONNECT) {
            self = .noConnection
        } else if matches(CURLE_GOT_NOTHING, CURLE_SEND_ERROR, CURLE_RECV_ERROR) {
            self = .connectionLost
        } else if matches(CURLE_OPERATION_TIMEDOUT) {
            self = .timeout
        } else if matches(CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_SSL_ISSUER_ERROR) {
            self = .certificate
        } else if matches(CURLE_SSL_CONNECT_ERROR) {
            self = .tlsHandshake
        } else if matches(CURLE_USE_SSL_FAILED) {
            self = .tlsRequired
        } else if matches(CURLE_LOGIN_DENIED) {
            self = .credentials
        } else {
            self = .transfer(code)
        }
    }

    /// The kind of an HTTP answer that is not a success.
    public init(httpStatus status: Int) {
        switch status {
        case 401, 403: self = .credentials
        case 404, 410: self = .address
        case 408: self = .timeout
        case 413: self = .tooLarge
        case 429: self = .rateLimited
        case 500..<600: self = .receiverError
        default: self = .status(status)
        }
    }
}

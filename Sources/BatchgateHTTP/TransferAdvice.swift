import CCurl

/// What kind of trouble a transfer met, named after where a person looks for its cause: the one
/// mapping from libcurl's codes and HTTP statuses to advice, shared by HTTP sinks and e-mail.
///
/// Two failures of the same kind have the same cause to look for (a 502 and a 503 alike: the
/// receiver's own problem), so a sink's log tells a change of kind apart from more of the same.
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
    /// Another HTTP status, or an SMTP reply code, with no advice of its own.
    case status(Int)
    /// Another libcurl code, with no advice of its own.
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

    /// Who answered (or did not): the words advice uses for it.
    public enum Peer: Sendable {
        /// An HTTP sink's receiver (Slack, Teams, a webhook).
        case receiver
        /// An e-mail sink's SMTP server.
        case mailServer

        var name: String {
            switch self {
            case .receiver: "the receiver"
            case .mailServer: "the SMTP server"
            }
        }
    }

    /// What happened and what to check, in words a person acts on; nil for a kind with no advice
    /// (``status(_:)``, ``transfer(_:)``), whose own text says all that is known.
    public func advice(peer: Peer, options: TransferOptions) -> String? {
        let who = peer.name
        switch self {
        case .hostNotFound:
            return "cannot resolve the host name: check the host name in the sink's url and this server's DNS"
        case .noConnection:
            return "cannot connect to \(who): is it up? check the host and port in the sink's url, a firewall or a proxy"
        case .connectionLost:
            return "\(who) closed the connection without an answer: check that the sink's url has the right port and scheme"
        case .timeout:
            return "\(who) did not answer within \(Self.text(options.timeout)) (alerts.timeout; connecting: \(Self.text(options.connectTimeout))): is it up, and does a firewall let the connection through?"
        case .certificate:
            return "\(who)'s TLS certificate is not trusted: check its certificate (expired? issued for another name?), this server's CA bundle (ca-certificates; alerts.caFile for a private CA) and its clock"
        case .tlsHandshake:
            return "the TLS handshake with \(who) failed: check that it speaks TLS on that port, and which TLS versions it accepts"
        case .tlsRequired:
            return "\(who) does not offer STARTTLS (or refused it), and TLS is required: the mail is not sent in clear (smtps:// or another port may offer TLS)"
        case .credentials:
            return switch peer {
            case .receiver: "\(who) refused the credential: check the sink's token, headers, signing secret or webhook URL"
            case .mailServer: "\(who) refused the login: check the sink's username and password"
            }
        case .address:
            return "the webhook URL is wrong or was deleted: check the sink's url"
        case .tooLarge:
            return "\(who) found the alert too large"
        case .rateLimited:
            return "\(who) asks for fewer messages: batchgate waits as long as it says; a slower rateLimit on the sink avoids it"
        case .receiverError:
            return "\(who) has a problem; nothing to fix here"
        case .status, .transfer:
            return nil
        }
    }

    /// `duration` as the config writes it: `15s`, `500ms`, `1.5s`.
    static func text(_ duration: Duration) -> String {
        let milliseconds = TransferOptions.milliseconds(duration)
        if milliseconds % 1000 == 0 { return "\(milliseconds / 1000)s" }
        if milliseconds < 1000 { return "\(milliseconds)ms" }
        let tenths = (milliseconds + 50) / 100
        return "\(tenths / 10).\(tenths % 10)s"
    }
}

extension TransferError {
    /// What to check, then libcurl's own words in parentheses: `cannot connect to the receiver:
    /// is it up? … (Failed to connect to 127.0.0.1 port 9 …; curl error 7)`; libcurl's words
    /// alone when the code has no advice.
    public func explained(peer: TransferProblem.Peer, options: TransferOptions) -> String {
        guard let advice = TransferProblem(curlCode: code).advice(peer: peer, options: options) else { return description }
        return "\(advice) (\(message); curl error \(code))"
    }
}

extension HTTPAnswer {
    /// The answer on one line, for the log and a dead letter: `HTTP 503: the receiver has a
    /// problem; nothing to fix here (<body>)` for a status with advice, `HTTP 400: <body>` for
    /// one without (the body is then the best clue), `HTTP 204` with no body.
    public func explained(options: TransferOptions) -> String {
        let body = String(bodyText.map { $0.isNewline ? " " : $0 })
        let advice = isSuccess ? nil : TransferProblem(httpStatus: status).advice(peer: .receiver, options: options)
        switch (advice, body.isEmpty) {
        case (let advice?, true): return "HTTP \(status): \(advice)"
        case (let advice?, false): return "HTTP \(status): \(advice) (\(body))"
        case (nil, true): return "HTTP \(status)"
        case (nil, false): return "HTTP \(status): \(body)"
        }
    }
}

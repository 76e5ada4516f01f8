import BatchgateConfig
import BatchgateHTTP

/// Who answered an alert transfer (or did not): the words the advice uses for it.
enum SinkPeer: Sendable {
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

extension TransferProblem {
    /// What happened to an alert's transfer and what to check, in words a person acts on: the
    /// sink's settings (`url`, `token`, `rateLimit`) and the `alerts:` section's (`timeout`,
    /// `caFile`) by their names in the config. Nil for a kind with no advice (``status(_:)``,
    /// ``transfer(_:)``), whose own text says all that is known.
    func advice(peer: SinkPeer, options: TransferOptions) -> String? {
        let who = peer.name
        switch self {
        case .hostNotFound:
            return "cannot resolve the host name: check the host name in the sink's url and this server's DNS"
        case .noConnection:
            return "cannot connect to \(who): is it up? check the host and port in the sink's url, a firewall or a proxy"
        case .connectionLost:
            return "\(who) closed the connection without an answer: check that the sink's url has the right port and scheme"
        case .timeout:
            return "\(who) did not answer within \(DurationText.format(options.timeout)) (alerts.timeout; connecting: \(DurationText.format(options.connectTimeout))): is it up, and does a firewall let the connection through?"
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
}

extension TransferError {
    /// What to check, then libcurl's own words in parentheses: `cannot connect to the receiver:
    /// is it up? … (Failed to connect to 127.0.0.1 port 9 …; curl error 7)`; libcurl's words
    /// alone when the code has no advice.
    func explained(peer: SinkPeer, options: TransferOptions) -> String {
        guard let advice = TransferProblem(curlCode: code).advice(peer: peer, options: options) else { return description }
        return "\(advice) (\(message); curl error \(code))"
    }
}

extension HTTPAnswer {
    /// The answer on one line, for the log and a dead letter: `HTTP 503: the receiver has a
    /// problem; nothing to fix here (<body>)` for a status with advice, `HTTP 400: <body>` for
    /// one without (the body is then the best clue), `HTTP 204` with no body.
    func explained(options: TransferOptions) -> String {
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

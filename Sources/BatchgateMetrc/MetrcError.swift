/// Why a read from Metrc did not give an answer, in words that say what to do.
public enum MetrcError: Error, Sendable, Equatable, CustomStringConvertible {
    /// 401: the keys, or the licence with them, were refused.
    case unauthorized(endpoint: String, licenseNumber: String, answer: String)
    /// 403: the user key's user lacks a permission.
    case forbidden(endpoint: String, answer: String)
    /// Another 4xx: the request itself was refused; sending it again would not help.
    case refused(endpoint: String, status: Int, answer: String)
    /// No usable answer after every attempt (no connection, timeouts, 429 or 5xx throughout).
    case unreachable(endpoint: String, attempts: Int, lastProblem: String)
    /// The server is plain http and not on this machine: the keys are not sent across a network
    /// in the clear.
    case insecure(server: String)

    public var description: String {
        switch self {
        case .unauthorized(let endpoint, let licence, let answer):
            "Metrc refused the keys for \(endpoint) (HTTP 401\(Self.excerpt(answer))): check the vendor key and the user key, "
                + "and that the licence \(licence) is one their user may act for"
        case .forbidden(let endpoint, let answer):
            "Metrc answered 403 for \(endpoint)\(Self.excerpt(answer, parenthesised: true)): the user key's user lacks the permission "
                + "to read it (\(endpoint.contains("/items/") ? "Manage Items or View Items" : "View Packages") in Metrc)"
        case .refused(let endpoint, let status, let answer):
            "Metrc refused \(endpoint) with HTTP \(status)\(Self.excerpt(answer)); asking again would not help"
        case .insecure(let server):
            "batchgate does not send the Metrc keys to \(server) over plain http; use its https:// address "
                + "(plain http is for a server on this machine, such as a test server or a local proxy)"
        case .unreachable(let endpoint, let attempts, let problem):
            "Metrc did not answer \(endpoint) after \(attempts) attempt\(attempts == 1 ? "" : "s") (last: \(problem))"
        }
    }

    /// True when the fault is Metrc's or the network's, not the configuration's: worth trying later.
    public var isTransient: Bool {
        if case .unreachable = self { return true }
        return false
    }

    /// `: <the first 200 characters of the answer>` when there is an answer worth showing.
    private static func excerpt(_ answer: String, parenthesised: Bool = false) -> String {
        let trimmed = answer.trimmingWhitespace()
        guard !trimmed.isEmpty else { return "" }
        let shown = trimmed.count > 200 ? String(trimmed.prefix(200)) + "…" : trimmed
        return parenthesised ? " (\(shown))" : ": \(shown)"
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> String {
        var scalars = Substring(self)
        while let first = scalars.first, first.isWhitespace { scalars.removeFirst() }
        while let last = scalars.last, last.isWhitespace { scalars.removeLast() }
        return String(scalars)
    }
}

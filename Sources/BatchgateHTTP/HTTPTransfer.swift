import CCurl
import BatchgateSystem

/// An HTTP POST: where it goes, its headers and its body.
public struct HTTPRequest: Sendable {
    /// Where it goes: an http:// or https:// URL.
    public var url: String
    /// Sent in this order, besides libcurl's own (Host, User-Agent, Content-Length).
    public var headers: [(name: String, value: String)]
    /// Sent as it is.
    public var body: [UInt8]

    /// A POST of `body` to `url` with `headers`.
    public init(url: String, headers: [(name: String, value: String)] = [], body: [UInt8]) {
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// What an endpoint answered.
public struct HTTPAnswer: Sendable, Equatable {
    /// The status from `CURLINFO_RESPONSE_CODE`.
    public var status: Int
    /// The `Retry-After` header, in seconds from now, when the answer had a readable one.
    public var retryAfter: Double?
    /// The `Content-Type` header as sent (`application/json; charset=utf-8`), when there was one.
    public var contentType: String?
    /// The body: whole from ``HTTPTransfer/get(url:basicAuth:headers:options:maximumBodyBytes:)``,
    /// only its first bytes from ``HTTPTransfer/post(_:options:keepingBodyBytes:)``.
    public var body: [UInt8]

    /// An answer with these parts.
    public init(status: Int, retryAfter: Double? = nil, contentType: String? = nil, body: [UInt8] = []) {
        self.status = status
        self.retryAfter = retryAfter
        self.contentType = contentType
        self.body = body
    }

    /// The body as text, bytes that are not UTF-8 replaced: for a log line.
    public var bodyText: String { String(decoding: body, as: UTF8.self) }

    /// A 2xx status.
    public var isSuccess: Bool { (200..<300).contains(status) }
}

/// A transfer that got no HTTP answer, or one it may not read: no connection, a timeout, a TLS
/// failure, an answer over the size allowed, a URL refused before connecting.
public struct TransferError: Error, Sendable, Equatable, CustomStringConvertible {
    /// libcurl's `CURLcode` (or the one closest to a refusal made before libcurl ran).
    public var code: Int32
    /// What went wrong, for a person: libcurl's words, and for a GET the URL it was fetching.
    public var message: String

    init(code: Int32, message: String) {
        self.code = code
        self.message = message
    }

    init(_ code: CURLcode, _ message: String) {
        self.init(code: Int32(code.rawValue), message: message)
    }

    public var description: String { "\(message) (curl error \(code))" }

    /// True for a timeout, whether connecting or waiting for the answer.
    public var isTimeout: Bool { code == Int32(CURLE_OPERATION_TIMEDOUT.rawValue) }

    /// True when a GET's answer was larger than the caller allowed (its body was not kept).
    public var isTooLarge: Bool { code == Int32(CURLE_FILESIZE_EXCEEDED.rawValue) }
}

/// HTTP through libcurl's easy interface: alerts' POSTs, the Metrc catalog's GETs. Both block:
/// call them from a thread of their own (a sender's queue), never from Swift's cooperative pool
/// or the router's queue. Only http:// and https:// are spoken, and no redirect is followed.
public enum HTTPTransfer {
    /// The most of an answer's body a POST keeps by default, for the log.
    public static let keptBodyBytes = 1024

    /// Sends `request` and returns the answer, with the first `keepingBodyBytes` of its body (the
    /// rest is read and dropped), or throws when no answer came.
    public static func post(_ request: HTTPRequest, options: TransferOptions = TransferOptions(),
                            keepingBodyBytes: Int = keptBodyBytes) throws(TransferError) -> HTTPAnswer {
        let headerLines = request.headers.map { "\($0.name): \($0.value)" } + ["Expect:"]  // no 100-continue round trip
        let collector = AnswerCollector(body: .keepFirst(keepingBodyBytes))
        // The body's bytes stay where they are: libcurl reads them during the transfer, within this scope.
        let result = request.body.withUnsafeBytes { body in
            Result { () throws(TransferError) -> HTTPAnswer in
                try perform(url: request.url, headerLines: headerLines, options: options, collector: collector) { handle, set in
                    set(batchgate_curl_setopt_long(handle, CURLOPT_POST, 1), "POST")
                    set(batchgate_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: body.baseAddress)), "the body")
                    set(batchgate_curl_setopt_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)), "the body size")
                }
            }
        }
        return try result.get()
    }

    /// GETs `url` (its query string sent as written) and returns the answer with its body whole,
    /// whatever its status: a 401, 429 or 302 is an answer for the caller to judge.
    ///
    /// - Parameters:
    ///   - basicAuth: sent as HTTP Basic through libcurl's user name and password, never in the
    ///     URL; a URL that carries credentials itself is refused before connecting.
    ///   - headers: sent as given (`Accept: application/json`).
    ///   - maximumBodyBytes: the largest body read; a larger one is an error (``TransferError/isTooLarge``),
    ///     never a body cut short that might parse as a smaller page.
    /// - Throws: ``TransferError`` naming the URL (without its query) when no answer came, the
    ///   answer was too large, or the URL was refused; the credentials are in no message.
    public static func get(url: String, basicAuth: (user: String, password: String)? = nil,
                           headers: [(name: String, value: String)] = [], options: TransferOptions = TransferOptions(),
                           maximumBodyBytes: Int) throws(TransferError) -> HTTPAnswer {
        precondition(maximumBodyBytes >= 0, "a negative body limit")
        let location = try checkedLocation(of: url, method: "GET")
        let collector = AnswerCollector(body: .refuseOver(maximumBodyBytes))
        do throws(TransferError) {
            return try perform(url: url, headerLines: headers.map { "\($0.name): \($0.value)" }, options: options,
                               collector: collector) { handle, set in
                set(batchgate_curl_setopt_long(handle, CURLOPT_HTTPGET, 1), "GET")
                // A Content-Length over the limit is refused before the body is read (libcurl
                // reads 0 as "no limit": the body callback alone holds an empty body to 0).
                if maximumBodyBytes > 0 {
                    set(batchgate_curl_setopt_offset(handle, CURLOPT_MAXFILESIZE_LARGE, curl_off_t(maximumBodyBytes)), "the largest body")
                }
                if let basicAuth {
                    set(batchgate_curl_setopt_long(handle, CURLOPT_HTTPAUTH, batchgate_curlauth_basic()), "Basic authentication")
                    set(batchgate_curl_setopt_string(handle, CURLOPT_USERNAME, basicAuth.user), "the user name")
                    set(batchgate_curl_setopt_string(handle, CURLOPT_PASSWORD, basicAuth.password), "the password")
                }
            }
        } catch {
            if collector.bodyOverflowed || error.isTooLarge {
                throw TransferError(CURLE_FILESIZE_EXCEEDED,
                                    "GET \(location): the answer was larger than \(maximumBodyBytes) bytes, the most read for it")
            }
            throw TransferError(code: error.code, message: "GET \(location): \(error.message)")
        }
    }

    /// `url` as messages may show it: scheme, host, port and path, without query or fragment.
    /// Refuses, before connecting, a URL libcurl cannot read, one with another scheme than
    /// http or https, and one that carries a user name or password.
    static func checkedLocation(of url: String, method: String) throws(TransferError) -> String {
        guard let parsed = curl_url() else { throw TransferError(CURLE_OUT_OF_MEMORY, "\(method): libcurl could not read the URL") }
        defer { curl_url_cleanup(parsed) }
        func part(_ which: CURLUPart) -> String? {
            var value: UnsafeMutablePointer<CChar>?
            guard curl_url_get(parsed, which, &value, 0) == CURLUE_OK, let value else { return nil }
            defer { curl_free(value) }
            return String(cString: value)
        }
        guard curl_url_set(parsed, CURLUPART_URL, url, UInt32(CURLU_NON_SUPPORT_SCHEME)) == CURLUE_OK else {
            throw TransferError(CURLE_URL_MALFORMAT, "\(method): the URL cannot be read; it needs http:// or https://, a host and a path")
        }
        let carriesCredentials = part(CURLUPART_USER) != nil || part(CURLUPART_PASSWORD) != nil
        for dropped in [CURLUPART_USER, CURLUPART_PASSWORD, CURLUPART_OPTIONS, CURLUPART_QUERY, CURLUPART_FRAGMENT] {
            _ = curl_url_set(parsed, dropped, nil, 0)
        }
        let location = part(CURLUPART_URL) ?? "(the URL)"
        guard !carriesCredentials else {
            throw TransferError(CURLE_LOGIN_DENIED,
                                "\(method) \(location): the URL carries a user name or password; give credentials apart, so that no URL holds them")
        }
        guard let scheme = part(CURLUPART_SCHEME)?.lowercased(), scheme == "http" || scheme == "https" else {
            throw TransferError(CURLE_UNSUPPORTED_PROTOCOL, "\(method) \(location): only http:// and https:// URLs are fetched")
        }
        return location
    }

    /// One transfer: the options every HTTP transfer has, then `configure`'s (the method and its
    /// parts), then the answer. `configure` gets the handle and a setter that keeps the first failure.
    private static func perform(url: String, headerLines: [String], options: TransferOptions, collector: AnswerCollector,
                                configure: (UnsafeMutableRawPointer, (CURLcode, String) -> Void) -> Void) throws(TransferError) -> HTTPAnswer {
        CurlRuntime.initialize()
        // libcurl's own words for a failure (`Failed to connect to 127.0.0.1 port 9 after 0 ms:
        // Couldn't connect to server`) say more than its code's name. Made first, so that it
        // outlives the handle.
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        defer { errorBuffer.deallocate() }

        guard let handle = curl_easy_init() else { throw TransferError(code: -1, message: "libcurl could not create a handle") }
        defer { curl_easy_cleanup(handle) }
        let box = Unmanaged.passRetained(collector)
        defer { box.release() }

        var headerList: UnsafeMutablePointer<curl_slist>?
        for line in headerLines { headerList = curl_slist_append(headerList, line) }
        defer { curl_slist_free_all(headerList) }

        var failure: TransferError?
        func set(_ code: CURLcode, _ what: String) {
            if code != CURLE_OK && failure == nil { failure = TransferError(code, "cannot set \(what)") }
        }
        set(batchgate_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer)), "the error buffer")
        set(batchgate_curl_setopt_string(handle, CURLOPT_URL, url), "the URL")
        for (code, what) in options.apply(to: handle, protocols: Int(CURLPROTO_HTTP | CURLPROTO_HTTPS)) { set(code, what) }
        // Never follow a redirect: a Location could point anywhere, and with it would go the
        // request's Authorization header or Basic credentials, or an alert's body. A 3xx is
        // returned as the answer, for the caller to report.
        set(batchgate_curl_setopt_long(handle, CURLOPT_FOLLOWLOCATION, 0), "no redirects")
        set(batchgate_curl_setopt_string(handle, CURLOPT_USERAGENT, "batchgate/0.1"), "the user agent")
        configure(handle, set)
        set(batchgate_curl_setopt_pointer(handle, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headerList)), "the headers")
        set(batchgate_curl_setopt_callback(handle, CURLOPT_WRITEFUNCTION, collectBody), "the body callback")
        set(batchgate_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, box.toOpaque()), "the body callback data")
        set(batchgate_curl_setopt_callback(handle, CURLOPT_HEADERFUNCTION, collectHeader), "the header callback")
        set(batchgate_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, box.toOpaque()), "the header callback data")
        if let failure { throw failure }

        let result = curl_easy_perform(handle)
        guard result == CURLE_OK else {
            let buffered = String(cString: errorBuffer)
            throw TransferError(result, buffered.isEmpty ? String(cString: curl_easy_strerror(result)) : buffered)
        }
        var status = 0
        _ = batchgate_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPAnswer(status: status,
                          retryAfter: collector.retryAfter.flatMap { RetryAfter.seconds($0, now: System.wallClock()) },
                          contentType: collector.contentType,
                          body: collector.body)
    }
}

/// Collects what a transfer's callbacks receive.
private final class AnswerCollector {
    /// What to do with a body longer than a limit.
    enum BodyLimit {
        /// Keep the first bytes, read the rest and drop it (an alert's answer, for the log).
        case keepFirst(Int)
        /// Stop the transfer: a body cut short could be taken for a whole one.
        case refuseOver(Int)
    }

    let limit: BodyLimit
    var body: [UInt8] = []
    /// Set when the transfer was stopped because the body went over a ``BodyLimit/refuseOver(_:)`` limit.
    var bodyOverflowed = false
    var retryAfter: String?
    var contentType: String?

    init(body limit: BodyLimit) { self.limit = limit }

    /// Takes `bytes` of the body; false when the transfer must stop.
    func take(_ bytes: UnsafeBufferPointer<UInt8>) -> Bool {
        switch limit {
        case .keepFirst(let kept):
            let room = kept - body.count
            if room > 0 { body.append(contentsOf: bytes.prefix(room)) }
            return true  // the rest is read and dropped, so the connection ends cleanly
        case .refuseOver(let maximum):
            guard bytes.count <= maximum - body.count else {
                bodyOverflowed = true
                return false
            }
            body.append(contentsOf: bytes)
            return true
        }
    }

    /// Takes one header line (`Name: value\r\n`, or a status line that starts a new answer).
    func take(headerLine line: String) {
        if line.lowercased().hasPrefix("http/") {  // a new answer (after a 100 or 103): forget the last one's
            retryAfter = nil
            contentType = nil
        }
        guard let colon = line.firstIndex(of: ":") else { return }
        let value = String(line[line.index(after: colon)...])
        switch line[..<colon].lowercased() {
        case "retry-after": retryAfter = value
        case "content-type": contentType = Self.trimmed(value)
        default: break
        }
    }

    /// `text` without the spaces, tabs and line ends around it.
    private static func trimmed(_ text: String) -> String {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" || $0.isNewline }
        return String(text.drop(while: isSpace).reversed().drop(while: isSpace).reversed())
    }
}

private let collectBody: batchgate_curl_data_callback = { buffer, size, count, userdata in
    let length = size * count
    guard let buffer, let userdata else { return length }
    let collector = Unmanaged<AnswerCollector>.fromOpaque(userdata).takeUnretainedValue()
    let kept = buffer.withMemoryRebound(to: UInt8.self, capacity: length) { collector.take(UnsafeBufferPointer(start: $0, count: length)) }
    return kept ? length : 0  // anything but `length` makes libcurl stop with CURLE_WRITE_ERROR
}

private let collectHeader: batchgate_curl_data_callback = { buffer, size, count, userdata in
    let length = size * count
    guard let buffer, let userdata else { return length }
    let collector = Unmanaged<AnswerCollector>.fromOpaque(userdata).takeUnretainedValue()
    collector.take(headerLine: buffer.withMemoryRebound(to: UInt8.self, capacity: length) {
        String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self)
    })
    return length
}

import CCurl
#if canImport(Glibc)
import Glibc
#endif
import BatchgateSystem
import BatchgateConfig

/// An HTTP request for an alert sink.
struct HTTPRequest: Sendable {
    var url: String
    var headers: [(name: String, value: String)]
    var body: [UInt8]

    init(url: String, headers: [(name: String, value: String)] = [], body: [UInt8]) {
        self.url = url
        self.headers = headers
        self.body = body
    }
}

/// What an endpoint answered.
struct HTTPAnswer: Sendable, Equatable {
    /// The status from `CURLINFO_RESPONSE_CODE`.
    var status: Int
    /// The `Retry-After` header, in seconds from now, when the answer had one.
    var retryAfter: Double?
    /// The first KiB of the body (or as much as the caller asked to keep), for the log.
    var bodyPrefix: String

    var isSuccess: Bool { (200..<300).contains(status) }
}

/// A transfer that got no HTTP answer: no connection, a timeout, a TLS failure.
struct TransferError: Error, Sendable, Equatable, CustomStringConvertible {
    /// libcurl's `CURLcode`.
    var code: Int32
    var message: String

    var description: String { "\(message) (curl error \(code))" }

    /// True for a timeout, whether connecting or waiting for the answer.
    var isTimeout: Bool { code == Int32(CURLE_OPERATION_TIMEDOUT.rawValue) }
}

/// The transfer limits of the `alerts:` section, as libcurl takes them. TLS peers are always
/// verified; `caFile` adds trust, never removes it (the system's CA folder stays trusted beside it).
extension DaemonConfig.Alerts {
    /// The system's hashed CA folder (Debian, Ubuntu, Alpine: /etc/ssl/certs), set beside a CA
    /// file so that the public CAs stay trusted; nil when there is none.
    static let systemCAFolder: String? = {
        var info = stat()
        return stat("/etc/ssl/certs", &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR ? "/etc/ssl/certs" : nil
    }()

    /// Sets what every transfer of batchgate has, HTTP or SMTP: NOSIGNAL, only `protocols`, the two
    /// timeouts, TLS peer and host verification, and the CA file. Returns what libcurl answered to
    /// each option, named for a message.
    func apply(to handle: UnsafeMutableRawPointer, protocols: Int) -> [(CURLcode, String)] {
        var results = [
            (batchgate_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1), "NOSIGNAL"),
            (batchgate_curl_setopt_long(handle, CURLOPT_PROTOCOLS, protocols), "the protocols"),
            (batchgate_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Int(connectTimeout.seconds * 1000)), "the connect timeout"),
            (batchgate_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Int(timeout.seconds * 1000)), "the timeout"),
            (batchgate_curl_setopt_long(handle, CURLOPT_SSL_VERIFYPEER, 1), "TLS verification"),
            (batchgate_curl_setopt_long(handle, CURLOPT_SSL_VERIFYHOST, 2), "TLS host verification"),
        ]
        if let caFile {
            // CAINFO replaces the built-in bundle; the system's folder of CAs keeps them trusted.
            results.append((batchgate_curl_setopt_string(handle, CURLOPT_CAINFO, caFile), "the CA file"))
            if let folder = Self.systemCAFolder {
                results.append((batchgate_curl_setopt_string(handle, CURLOPT_CAPATH, folder), "the system CA folder"))
            }
        }
        return results
    }
}

/// POSTs through libcurl's easy interface. `perform` blocks: call it from a thread of its own
/// (a sender's queue), never from Swift's cooperative pool or the router's queue.
enum HTTPTransfer {
    /// The most of an answer's body kept for the log.
    static let keptBodyBytes = 1024

    /// Sends `request` and returns the answer, with the first `keepingBodyBytes` of its body, or
    /// throws when no answer came.
    static func post(_ request: HTTPRequest, options: DaemonConfig.Alerts = DaemonConfig.Alerts(),
                            keepingBodyBytes: Int = keptBodyBytes) throws(TransferError) -> HTTPAnswer {
        CurlRuntime.initialize()
        guard let handle = curl_easy_init() else { throw TransferError(code: -1, message: "libcurl could not create a handle") }
        defer { curl_easy_cleanup(handle) }
        let collected = AnswerCollector(keeping: keepingBodyBytes)
        let box = Unmanaged.passRetained(collected)
        defer { box.release() }

        var headerList: UnsafeMutablePointer<curl_slist>?
        for header in request.headers { headerList = curl_slist_append(headerList, "\(header.name): \(header.value)") }
        headerList = curl_slist_append(headerList, "Expect:")  // no 100-continue round trip
        defer { curl_slist_free_all(headerList) }

        var failure: TransferError?
        request.body.withUnsafeBytes { body in
            func set(_ code: CURLcode, _ what: String) {
                if code != CURLE_OK && failure == nil { failure = TransferError(code: Int32(code.rawValue), message: "cannot set \(what)") }
            }
            set(batchgate_curl_setopt_string(handle, CURLOPT_URL, request.url), "the URL")
            for (code, what) in options.apply(to: handle, protocols: Int(CURLPROTO_HTTP | CURLPROTO_HTTPS)) { set(code, what) }
            set(batchgate_curl_setopt_string(handle, CURLOPT_USERAGENT, "batchgate/0.1"), "the user agent")
            set(batchgate_curl_setopt_long(handle, CURLOPT_POST, 1), "POST")
            set(batchgate_curl_setopt_pointer(handle, CURLOPT_POSTFIELDS, UnsafeMutableRawPointer(mutating: body.baseAddress)), "the body")
            set(batchgate_curl_setopt_offset(handle, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(body.count)), "the body size")
            set(batchgate_curl_setopt_pointer(handle, CURLOPT_HTTPHEADER, UnsafeMutableRawPointer(headerList)), "the headers")
            set(batchgate_curl_setopt_callback(handle, CURLOPT_WRITEFUNCTION, collectBody), "the body callback")
            set(batchgate_curl_setopt_pointer(handle, CURLOPT_WRITEDATA, box.toOpaque()), "the body callback data")
            set(batchgate_curl_setopt_callback(handle, CURLOPT_HEADERFUNCTION, collectHeader), "the header callback")
            set(batchgate_curl_setopt_pointer(handle, CURLOPT_HEADERDATA, box.toOpaque()), "the header callback data")
            guard failure == nil else { return }
            let result = curl_easy_perform(handle)
            if result != CURLE_OK {
                failure = TransferError(code: Int32(result.rawValue), message: String(cString: curl_easy_strerror(result)))
            }
        }
        if let failure { throw failure }
        var status = 0
        _ = batchgate_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        return HTTPAnswer(status: status,
                          retryAfter: collected.retryAfter.flatMap { RetryAfter.seconds($0, now: System.wallClock()) },
                          bodyPrefix: String(decoding: collected.body, as: UTF8.self))
    }
}

/// Collects what a transfer's callbacks receive.
private final class AnswerCollector {
    let kept: Int
    var body: [UInt8] = []
    var retryAfter: String?

    init(keeping kept: Int) { self.kept = kept }
}

private let collectBody: batchgate_curl_data_callback = { buffer, size, count, userdata in
    let length = size * count
    guard let buffer, let userdata else { return length }
    let collector = Unmanaged<AnswerCollector>.fromOpaque(userdata).takeUnretainedValue()
    let room = collector.kept - collector.body.count
    if room > 0 {
        buffer.withMemoryRebound(to: UInt8.self, capacity: length) { bytes in
            collector.body.append(contentsOf: UnsafeBufferPointer(start: bytes, count: min(room, length)))
        }
    }
    return length  // the rest is read and dropped, so the connection ends cleanly
}

private let collectHeader: batchgate_curl_data_callback = { buffer, size, count, userdata in
    let length = size * count
    guard let buffer, let userdata else { return length }
    let collector = Unmanaged<AnswerCollector>.fromOpaque(userdata).takeUnretainedValue()
    let line = buffer.withMemoryRebound(to: UInt8.self, capacity: length) { String(decoding: UnsafeBufferPointer(start: $0, count: length), as: UTF8.self) }
    if line.lowercased().hasPrefix("http/") { collector.retryAfter = nil }  // a new answer (after a redirect or 100)
    if let colon = line.firstIndex(of: ":"), line[..<colon].lowercased() == "retry-after" {
        collector.retryAfter = String(line[line.index(after: colon)...])
    }
    return length
}

/// `curl_global_init`, once, before any transfer (and before sender threads start).
enum CurlRuntime {
    private static let initialized: Bool = {
        signal(SIGPIPE, SIG_IGN)
        return curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
    }()

    /// Initializes libcurl if that has not happened yet; returns whether it succeeded.
    @discardableResult
    static func initialize() -> Bool { initialized }
}

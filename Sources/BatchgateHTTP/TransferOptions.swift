import CCurl
#if canImport(Glibc)
import Glibc
#endif

/// The limits and trust every libcurl transfer of batchgate runs with, HTTP or SMTP. TLS peers are
/// always verified; ``caFile`` adds trust, never removes it (the system's CA folder stays trusted
/// beside it), and there is deliberately no option to turn verification off.
public struct TransferOptions: Sendable, Equatable {
    /// How long connecting may take.
    public var connectTimeout: Duration
    /// How long the whole transfer may take, connecting included.
    public var timeout: Duration
    /// A PEM file of CA certificates trusted besides the system's, or nil for none.
    public var caFile: String?

    /// Options with the given values; the defaults are those of the `alerts:` section.
    public init(connectTimeout: Duration = .seconds(5), timeout: Duration = .seconds(15), caFile: String? = nil) {
        self.connectTimeout = connectTimeout
        self.timeout = timeout
        self.caFile = caFile
    }

    /// The system's hashed CA folder (Debian, Ubuntu, Alpine: /etc/ssl/certs), set beside a CA
    /// file so that the public CAs stay trusted; nil when there is none.
    static let systemCAFolder: String? = {
        var info = stat()
        return stat("/etc/ssl/certs", &info) == 0 && (info.st_mode & S_IFMT) == S_IFDIR ? "/etc/ssl/certs" : nil
    }()

    /// Sets what every transfer of batchgate has: NOSIGNAL, only `protocols` (`CURLPROTO_…` bits),
    /// the two timeouts, TLS peer and host verification, and the CA file. Returns what libcurl
    /// answered to each option, named for a message.
    public func apply(to handle: UnsafeMutableRawPointer, protocols: Int) -> [(CURLcode, String)] {
        var results = [
            // libcurl's timeouts would otherwise use SIGALRM, which is process-wide and unsafe
            // with a transfer on each of several threads.
            (batchgate_curl_setopt_long(handle, CURLOPT_NOSIGNAL, 1), "NOSIGNAL"),
            (batchgate_curl_setopt_long(handle, CURLOPT_PROTOCOLS, protocols), "the protocols"),
            (batchgate_curl_setopt_long(handle, CURLOPT_CONNECTTIMEOUT_MS, Self.milliseconds(connectTimeout)), "the connect timeout"),
            (batchgate_curl_setopt_long(handle, CURLOPT_TIMEOUT_MS, Self.milliseconds(timeout)), "the timeout"),
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

    /// `duration` in whole milliseconds for libcurl, at least 1 (libcurl reads 0 as "no limit",
    /// so a limit under a millisecond must not become none) and at most a year (no overflow).
    static func milliseconds(_ duration: Duration) -> Int {
        let (seconds, attoseconds) = duration.components
        let year: Int64 = 365 * 24 * 3600
        return max(1, Int(min(seconds, year)) * 1000 + Int(attoseconds / 1_000_000_000_000_000))
    }
}

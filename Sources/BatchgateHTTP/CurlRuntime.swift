import CCurl
#if canImport(Glibc)
import Glibc
#endif

/// `curl_global_init`, once, before any transfer (and before sender threads start).
public enum CurlRuntime {
    private static let initialized: Bool = {
        // A peer closing the connection while libcurl writes must be an error code, not the end
        // of the daemon; NOSIGNAL on each handle covers only libcurl's own timers.
        signal(SIGPIPE, SIG_IGN)
        return curl_global_init(Int(CURL_GLOBAL_DEFAULT)) == CURLE_OK
    }()

    /// Initializes libcurl if that has not happened yet; returns whether it succeeded.
    @discardableResult
    public static func initialize() -> Bool { initialized }
}

import Foundation
import Synchronization

/// A small HTTP/1.1 server on 127.0.0.1 for tests: records each request and answers as told
/// (a status, headers and body, or never, to test timeouts).
public final class LoopbackHTTPServer: @unchecked Sendable {
    public struct Request: Sendable {
        public var method: String
        public var path: String
        /// Header names in lower case.
        public var headers: [String: String]
        public var body: Data
        /// When the request had been read.
        public var at = Date()
    }

    public enum Reply: Sendable {
        case answer(status: Int, headers: [(String, String)] = [], body: String = "")
        case hang
        /// This status, with the request sent back as a debugging endpoint or a careless error
        /// page does: its URL as JSON writes it (`\/` for `/`), then its head and its body.
        case echo(status: Int)
        /// This status and body without a Content-Length: the body ends as the connection
        /// closes, so a client learns its size only by reading it all.
        case answerUntilClose(status: Int, headers: [(String, String)] = [], body: String)
    }

    public let port: UInt16
    private let listener: Int32
    /// What the connection threads share with the test.
    final class SharedState: Sendable {
        let value = Mutex<(requests: [Request], reply: Reply, script: [Reply])>(([], .answer(status: 200), []))
        func withLock<T>(_ body: (inout (requests: [Request], reply: Reply, script: [Reply])) -> T) -> T { value.withLock { body(&$0) } }
    }

    private let state = SharedState()
    private let thread: Thread

    public var url: String { "http://127.0.0.1:\(port)/hook" }
    public var requests: [Request] { state.withLock { $0.requests } }

    public func reply(with reply: Reply) { state.withLock { $0.reply = reply } }

    /// Answers the next requests with these replies in order, then as ``reply(with:)`` says.
    public func script(_ replies: [Reply]) { state.withLock { $0.script = replies } }

    /// Listens on `port` of 127.0.0.1, or on a free port the system picks when it is 0 (to bring
    /// an endpoint back after ``stop()``, give the port the stopped one had).
    public init(port requested: UInt16 = 0) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var yes: Int32 = 1
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, socklen_t(MemoryLayout<Int32>.size))
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = requested.bigEndian
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { generic -> Int32 in
                guard bind(fd, generic, length) == 0 else { return -1 }
                return getsockname(fd, generic, &length)
            }
        }
        guard bound == 0, listen(fd, 16) == 0 else {
            close(fd)
            throw CocoaError(.fileWriteUnknown)
        }
        listener = fd
        port = UInt16(bigEndian: address.sin_port)
        let serverState = state
        thread = Thread {
            while true {
                let client = accept(fd, nil, nil)
                if client < 0 { return }  // the listener was closed
                let handler = Thread { Self.serve(client, state: serverState) }
                handler.start()
            }
        }
        thread.start()
    }

    private let stopped = Mutex(false)

    /// Stops listening: from then on a connection to the port is refused, as by an endpoint that
    /// is down. Requests already being answered finish.
    public func stop() {
        guard stopped.withLock({ (done: inout Bool) -> Bool in defer { done = true }; return !done }) else { return }
        shutdown(listener, Int32(SHUT_RDWR))
        close(listener)
    }

    deinit { stop() }

    private static func serve(_ client: Int32, state: SharedState) {
        defer { close(client) }
        var received = Data()
        var buffer = [UInt8](repeating: 0, count: 65_536)
        var headerEnd: Range<Data.Index>?
        while headerEnd == nil {
            let count = read(client, &buffer, buffer.count)
            if count <= 0 { return }
            received.append(contentsOf: buffer[..<count])
            headerEnd = received.range(of: Data("\r\n\r\n".utf8))
        }
        let headText = String(decoding: received[..<headerEnd!.lowerBound], as: UTF8.self)
        let head = headText.split(separator: "\r\n")
        let requestLine = head.first?.split(separator: " ") ?? []
        var headers: [String: String] = [:]
        for line in head.dropFirst() {
            if let colon = line.firstIndex(of: ":") {
                headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
            }
        }
        let length = Int(headers["content-length"] ?? "0") ?? 0
        var body = received[headerEnd!.upperBound...]
        while body.count < length {
            let count = read(client, &buffer, buffer.count)
            if count <= 0 { break }
            body.append(contentsOf: buffer[..<count])
        }
        let reply = state.withLock { shared -> Reply in
            shared.requests.append(Request(method: requestLine.first.map(String.init) ?? "", path: requestLine.dropFirst().first.map(String.init) ?? "",
                                           headers: headers, body: Data(body)))
            return shared.script.isEmpty ? shared.reply : shared.script.removeFirst()
        }
        switch reply {
        case .hang:
            sleep(30)
        case .answer(let status, let extra, let text):
            answer(client, status: status, headers: extra, body: text)
        case .echo(let status):
            let url = "http://" + (headers["host"] ?? "") + (requestLine.dropFirst().first.map(String.init) ?? "")
            let text = #"{"url": ""# + url.replacing("/", with: "\\/") + "\"}\n" + headText + "\r\n\r\n" + String(decoding: body, as: UTF8.self)
            answer(client, status: status, headers: [("Content-Type", "text/plain; charset=utf-8")], body: text)
        case .answerUntilClose(let status, let extra, let text):
            answer(client, status: status, headers: extra, body: text, sized: false)
        }
    }

    private static func answer(_ client: Int32, status: Int, headers extra: [(String, String)], body text: String, sized: Bool = true) {
        var response = "HTTP/1.1 \(status) Status\r\n" + (sized ? "Content-Length: \(text.utf8.count)\r\n" : "") + "Connection: close\r\n"
        for (name, value) in extra { response += "\(name): \(value)\r\n" }
        response += "\r\n" + text
        let bytes = Array(response.utf8)
        _ = bytes.withUnsafeBytes { write(client, $0.baseAddress, $0.count) }
    }
}

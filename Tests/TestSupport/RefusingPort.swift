import Foundation

/// A loopback TCP port that refuses every connection for as long as this value lives: a socket
/// bound to it that never listens. The kernel answers a connection there with a reset
/// (ECONNREFUSED, libcurl's code 7), and, the port being bound, never hands it to another server,
/// as it could a port that was listened on and then closed (a suite running beside may get it).
public final class RefusingPort: @unchecked Sendable {
    public let port: UInt16
    private let fd: Int32

    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw RefusingPortError("cannot make a socket: \(String(cString: strerror(errno)))") }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw RefusingPortError("cannot bind a loopback port: \(reason)")
        }
        self.fd = fd
        port = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(fd) }
}

/// Why a ``RefusingPort`` could not be made.
public struct RefusingPortError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

import BatchgateSystem
/// sd_notify without libsystemd: one datagram to `$NOTIFY_SOCKET` per message (`READY=1`,
/// `STATUS=…`, `WATCHDOG=1`, `RELOADING=1`, `STOPPING=1`). Does nothing outside systemd.
final class SystemdNotifier: Sendable {
    private let socketPath: String?
    /// Half of `$WATCHDOG_USEC`, in seconds: how often to send `WATCHDOG=1`; nil when off.
    let watchdogInterval: Double?

    init(environment: [String: String]) {
        let path = environment["NOTIFY_SOCKET"].flatMap { $0.isEmpty ? nil : $0 }
        socketPath = path
        if let usec = environment["WATCHDOG_USEC"].flatMap(Double.init), usec > 0,
           environment["WATCHDOG_PID"].map({ Int32($0) == System.processID() }) ?? true {
            watchdogInterval = usec / 1_000_000 / 2
        } else {
            watchdogInterval = nil
        }
    }

    var isActive: Bool { socketPath != nil }

    /// Sends one message; failures are returned, never fatal (systemd may be restarting).
    @discardableResult
    func notify(_ message: String) -> Bool {
        guard let socketPath else { return false }
        var address = Array(socketPath.utf8)
        if address.first == UInt8(ascii: "@") { address[0] = 0 }  // abstract namespace
        let payload = Array(message.utf8)
        do {
            return try System.sendDatagram(payload, toUnixSocket: address, describing: socketPath) == payload.count
        } catch {
            return false
        }
    }
}

import CCurl
import Foundation
import BatchgateConfig

/// Polls `condition` for up to `seconds`.
public func eventually(_ seconds: Double = 10, _ condition: () -> Bool) -> Bool {
    let end = Date().addingTimeInterval(seconds)
    while Date() < end {
        if condition() { return true }
        usleep(20_000)
    }
    return condition()
}

/// A temporary folder with a self-signed certificate for localhost and 127.0.0.1, removed at the end.
public final class TestFolder {
    let url: URL
    var certificate: String { url.appendingPathComponent("cert.pem").path }
    var key: String { url.appendingPathComponent("key.pem").path }
    /// Short timeouts, and the certificate as the CA file.
    public var options: DaemonConfig.Alerts { DaemonConfig.Alerts(connectTimeout: .seconds(5), timeout: .seconds(10), caFile: certificate) }

    public init() throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-smtp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                             "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                             "-keyout", key, "-out", certificate]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else { throw SMTPTestError("openssl could not make a certificate (is openssl installed?)") }
    }

    deinit { try? FileManager.default.removeItem(at: url) }
}

/// smtp_server.py (beside this file) in a child process of Debian's python3 (with python3-aiosmtpd).
public final class SMTPTestServer {
    public enum Mode: Sendable, CustomStringConvertible {
        case plain, startTLS, implicitTLS
        public var description: String { self == .plain ? "plain" : self == .startTLS ? "STARTTLS" : "smtps" }
    }

    /// One message as the server got it.
    public struct Delivery: Decodable {
        public var mailFrom: String
        public var rcptTos: [String]
        public var tls: Bool
        public var login: String?
        var dataBase64: String
        public var data: [UInt8] { Array(Data(base64Encoded: dataBase64) ?? Data()) }

        /// The message as a reader sees it, CRLF line ends kept: folded header lines joined, and
        /// a quoted-printable body decoded (its soft line breaks taken out, `=XX` as the byte).
        /// Encoded-words (`=?UTF-8?B?…?=`) stay as they are.
        public var readable: String {
            let text = String(decoding: data, as: UTF8.self)
            guard let end = text.range(of: "\r\n\r\n") else { return text }
            let headers = text[..<end.lowerBound].replacingOccurrences(of: "\r\n ", with: " ")
                .replacingOccurrences(of: "\r\n\t", with: "\t")
            let body = text[end.upperBound...]
            guard headers.lowercased().contains("\r\ncontent-transfer-encoding: quoted-printable") else {
                return headers + "\r\n\r\n" + body
            }
            var bytes: [UInt8] = []
            let encoded = Array(body.utf8)
            var index = 0
            while index < encoded.count {
                if encoded[index] == UInt8(ascii: "="), index + 2 < encoded.count,
                   encoded[index + 1] == 0x0D, encoded[index + 2] == 0x0A {
                    index += 3
                } else if encoded[index] == UInt8(ascii: "="), index + 2 < encoded.count,
                          let byte = UInt8(String(decoding: encoded[(index + 1)...(index + 2)], as: UTF8.self), radix: 16) {
                    bytes.append(byte)
                    index += 3
                } else {
                    bytes.append(encoded[index])
                    index += 1
                }
            }
            return headers + "\r\n\r\n" + String(decoding: bytes, as: UTF8.self)
        }

        enum CodingKeys: String, CodingKey {
            case mailFrom = "mail_from", rcptTos = "rcpt_tos", tls, login, dataBase64 = "data_base64"
        }
    }

    let port: Int
    public let url: String
    private let server: PythonServer
    private let outFile: URL

    /// A server in `mode` that wants a login when `user` and `password` are given, refuses
    /// `refusedRecipient` at RCPT, refuses at the end of DATA (`554 5.6.0 content refused`) a
    /// message that contains `refusedContent` as sent or as decoded, and takes messages of at
    /// most `sizeLimit` octets (advertised as SIZE; aiosmtpd's default when nil).
    public init(_ mode: Mode, in folder: TestFolder, user: String? = nil, password: String? = nil, refusedRecipient: String? = nil,
                refusedContent: String? = nil, sizeLimit: Int? = nil) throws {
        outFile = folder.url.appendingPathComponent("received-\(UUID().uuidString).jsonl")
        var arguments = ["--out", outFile.path]
        switch mode {
        case .plain: arguments += ["--plain"]
        case .startTLS: arguments += ["--starttls", folder.certificate, folder.key]
        case .implicitTLS: arguments += ["--implicit-tls", folder.certificate, folder.key]
        }
        if let user, let password { arguments += ["--user", user, "--password", password] }
        if let refusedRecipient { arguments += ["--refuse-rcpt", refusedRecipient] }
        if let refusedContent { arguments += ["--refuse-data-containing", refusedContent] }
        if let sizeLimit { arguments += ["--data-size-limit", String(sizeLimit)] }
        do {
            server = try PythonServer("smtp_server.py", arguments: arguments)
        } catch {
            throw SMTPTestError("the SMTP test server did not start (python3-aiosmtpd installed?): \(error)")
        }
        port = server.port
        url = "\(mode == .implicitTLS ? "smtps" : "smtp")://127.0.0.1:\(port)"
    }

    /// The messages the server accepted, in order.
    public func deliveries() throws -> [Delivery] {
        guard let data = FileManager.default.contents(atPath: outFile.path) else { return [] }
        return try data.split(separator: UInt8(ascii: "\n")).map { try JSONDecoder().decode(Delivery.self, from: Data($0)) }
    }

    public func stop() {
        server.stop()
    }
}

/// A port bound but not listening: connections are refused, and no other test can take it.
public final class ClosedPort {
    public let number: UInt16
    private let holder: Int32

    public init() throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 ? getsockname(fd, $0, &length) : -1 }
        }
        guard bound == 0 else { close(fd); throw SMTPTestError("cannot bind a port") }
        holder = fd
        number = UInt16(bigEndian: address.sin_port)
    }

    deinit { close(holder) }
}

public struct SMTPTestError: Error, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

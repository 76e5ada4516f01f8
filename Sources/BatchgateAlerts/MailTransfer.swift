import CCurl
#if canImport(Glibc)
import Glibc
#endif
import BatchgateConfig
import BatchgateHTTP

/// One e-mail to send through SMTP.
struct MailDelivery: Sendable {
    /// `smtp://host[:port]` (STARTTLS) or `smtps://host[:port]` (TLS from the start).
    var url: String
    /// The envelope sender, a bare address.
    var from: String
    /// The envelope recipients, bare addresses; at least one.
    var to: [String]
    /// The message, as `MailMessage.rendered()` gives it.
    var message: [UInt8]
    var username: String?
    var password: String?
    /// For smtp:// URLs: true (the default) makes STARTTLS required (CURLUSESSL_ALL): no mail goes out in clear.
    /// False sends in clear (only allowed without a password; the config enforces that, but refuse here too).
    var requireTLS: Bool

    init(url: String, from: String, to: [String], message: [UInt8],
                username: String? = nil, password: String? = nil, requireTLS: Bool = true) {
        self.url = url
        self.from = from
        self.to = to
        self.message = message
        self.username = username
        self.password = password
        self.requireTLS = requireTLS
    }
}

/// What an SMTP reply answered: the step of the conversation the server was at.
enum SMTPPhase: Sendable, Equatable {
    /// The greeting, EHLO, STARTTLS, AUTH: the session, before any mail.
    case session
    /// MAIL FROM: the envelope sender (and, with the SIZE extension, the message's size).
    case sender
    /// RCPT TO: a recipient.
    case recipients
    /// DATA and the message's text after it: the reply is about the message itself.
    case message
}

/// A mail that did not go out.
struct MailError: Error, Sendable, Equatable, CustomStringConvertible {
    /// libcurl's `CURLcode`, or the code of the closest libcurl error for a delivery refused before
    /// any connection (`CURLE_UNSUPPORTED_PROTOCOL`, `CURLE_BAD_FUNCTION_ARGUMENT`).
    var code: Int32
    /// The server's last reply code when it was a refusal (4xx or 5xx, such as 535, 550, 421);
    /// nil when the server refused nothing (no connection, a TLS failure, a timeout).
    var smtpStatus: Int?
    /// `curl_easy_strerror`, libcurl's error buffer, and the server's refusal as it said it.
    var message: String
    /// True when sending again cannot help: a 5xx SMTP reply (bad login 535, recipient refused 550, ...),
    /// the server not offering STARTTLS when it is required (CURLE_USE_SSL_FAILED), login denied.
    /// False for connection failures, timeouts, TLS handshake and certificate failures, 4xx replies.
    var isPermanent: Bool
    /// True when the server refused the message itself, not the session, sender or recipients: a
    /// 5xx at or after DATA (`500 Line too long`, `552` too big, `554` content refused), or 552
    /// to MAIL FROM, which with SIZE says the message is too large. Another version of the alert,
    /// smaller or plainer, may pass where this one did not.
    var refusesMessage = false

    /// The transfer's limits, for the advice about a timeout.
    var options = TransferOptions()

    /// What went wrong and what to check, then what libcurl and the server said.
    var description: String { "\(summary) (\(message); curl error \(code))" }

    /// The kind of failure (``TransferProblem``): libcurl's code when it tells the cause, else the
    /// server's reply code.
    var problem: TransferProblem {
        let byCode = TransferProblem(curlCode: code)
        switch byCode {
        case .transfer, .connectionLost:
            // A refusal reaches libcurl as a send or receive error: the reply says more.
            return smtpStatus.map { .status($0) } ?? byCode
        default:
            return byCode
        }
    }

    /// What went wrong, in words a person can act on: the advice shared with HTTP sinks for
    /// libcurl's codes (``TransferProblem/advice(peer:options:)``), else the server's refusal.
    private var summary: String {
        if let advice = problem.advice(peer: .mailServer, options: options) { return advice }
        guard let smtpStatus else { return "the mail was not sent" }
        if refusesMessage { return "the SMTP server refused the message itself (its lines, size or content)" }
        if smtpStatus >= 500 {
            if message.contains("RCPT failed") { return "the SMTP server refused a recipient: check the addresses in the sink's to" }
            if message.contains("MAIL failed") { return "the SMTP server refused the sender: check the sink's from, and that the login may send as it" }
            return "the SMTP server refused the mail"
        }
        return "the SMTP server turned the mail away for now"
    }

    /// A delivery refused before any connection: always permanent.
    static func refused(_ code: CURLcode, _ message: String) -> MailError {
        MailError(code: Int32(code.rawValue), smtpStatus: nil, message: message, isPermanent: true)
    }

    /// A failed transfer: permanent for a 5xx refusal, a denied login or a missing STARTTLS, unless
    /// the server said 4xx (try later); a refusal of the message itself when the 5xx answered
    /// `phase` ``SMTPPhase/message``, or was a 552 to MAIL FROM (SIZE: the message is too large).
    static func failed(_ code: CURLcode, smtpStatus: Int?, answering phase: SMTPPhase? = nil, message: String) -> MailError {
        let permanent: Bool
        if let smtpStatus, (400..<500).contains(smtpStatus) {
            permanent = false
        } else if let smtpStatus, (500..<600).contains(smtpStatus) {
            permanent = true
        } else {
            permanent = code == CURLE_LOGIN_DENIED || code == CURLE_USE_SSL_FAILED
        }
        var refusesMessage = false
        if let smtpStatus, (500..<600).contains(smtpStatus) {
            refusesMessage = phase == .message || (phase == .sender && smtpStatus == 552)
        }
        return MailError(code: Int32(code.rawValue), smtpStatus: smtpStatus, message: message, isPermanent: permanent,
                         refusesMessage: refusesMessage)
    }
}

/// Sends mail through libcurl's easy interface. `send` blocks: call it from a thread of its own
/// (a sender's queue), never from Swift's cooperative pool or the router's queue.
enum MailTransfer {
    /// What the server answered to a mail it took.
    struct Receipt: Sendable, Equatable {
        /// The final SMTP reply code (CURLINFO_RESPONSE_CODE, e.g. 250).
        var status: Int
        /// The recipients the server refused while it took the mail for the others, each with its
        /// reply (`550 5.1.1 <x@example.org>: Recipient address rejected`), in the order sent.
        var refused: [(address: String, reply: String)]

        static func == (lhs: Receipt, rhs: Receipt) -> Bool {
            lhs.status == rhs.status && lhs.refused.elementsEqual(rhs.refused) { $0 == $1 }
        }
    }

    /// Sends the mail; returns the final reply and the recipients refused on the way.
    static func send(_ delivery: MailDelivery, options: DaemonConfig.Alerts = DaemonConfig.Alerts()) throws(MailError) -> Receipt {
        try check(delivery)
        CurlRuntime.initialize()

        // Everything libcurl points at outlives the handle: cleanup may still send QUIT, read the
        // answer (the debug callback) and write to the error buffer.
        let reader = Unmanaged.passRetained(MessageReader(delivery.message))
        defer { reader.release() }
        let conversation = Unmanaged.passRetained(SMTPConversation())
        defer { conversation.release() }
        let errorBuffer = UnsafeMutablePointer<CChar>.allocate(capacity: Int(CURL_ERROR_SIZE))
        errorBuffer.initialize(repeating: 0, count: Int(CURL_ERROR_SIZE))
        defer { errorBuffer.deallocate() }
        var recipients: UnsafeMutablePointer<curl_slist>?
        for address in delivery.to { recipients = curl_slist_append(recipients, "<\(address)>") }
        defer { curl_slist_free_all(recipients) }

        guard let handle = curl_easy_init() else {
            throw MailError.failed(CURLE_FAILED_INIT, smtpStatus: nil, message: "libcurl could not create a handle")
        }
        defer { curl_easy_cleanup(handle) }

        var failure: MailError?
        func set(_ code: CURLcode, _ what: String) {
            if code != CURLE_OK && failure == nil {
                failure = MailError.failed(code, smtpStatus: nil, message: "cannot set \(what): \(String(cString: curl_easy_strerror(code)))")
            }
        }
        let implicitTLS = delivery.url.lowercased().hasPrefix("smtps://")
        set(batchgate_curl_setopt_string(handle, CURLOPT_URL, delivery.url), "the URL")
        for (code, what) in options.transferOptions.apply(to: handle, protocols: Int(CURLPROTO_SMTP | CURLPROTO_SMTPS)) { set(code, what) }
        if !implicitTLS && delivery.requireTLS {
            set(batchgate_curl_setopt_long(handle, CURLOPT_USE_SSL, Int(CURLUSESSL_ALL.rawValue)), "STARTTLS as required")
        }
        set(batchgate_curl_setopt_string(handle, CURLOPT_MAIL_FROM, "<\(delivery.from)>"), "the sender")
        set(batchgate_curl_setopt_pointer(handle, CURLOPT_MAIL_RCPT, UnsafeMutableRawPointer(recipients)), "the recipients")
        // One address the server refuses (someone who left) must not keep the mail from the rest;
        // only when every recipient is refused does the transfer fail. (ALLLOWFAILS is libcurl
        // 7.88's spelling, kept as an alias by later versions.) No BODY=8BITMIME: the message is
        // 7-bit (quoted-printable, RFC 2047 subject), which every server takes.
        set(batchgate_curl_setopt_long(handle, CURLOPT_MAIL_RCPT_ALLLOWFAILS, 1), "the recipient failures")
        if let username = delivery.username { set(batchgate_curl_setopt_string(handle, CURLOPT_USERNAME, username), "the user name") }
        if let password = delivery.password { set(batchgate_curl_setopt_string(handle, CURLOPT_PASSWORD, password), "the password") }
        set(batchgate_curl_setopt_long(handle, CURLOPT_UPLOAD, 1), "upload")
        set(batchgate_curl_setopt_callback(handle, CURLOPT_READFUNCTION, readMessage), "the message callback")
        set(batchgate_curl_setopt_pointer(handle, CURLOPT_READDATA, reader.toOpaque()), "the message callback data")
        set(batchgate_curl_setopt_offset(handle, CURLOPT_INFILESIZE_LARGE, curl_off_t(delivery.message.count)), "the message size")
        set(batchgate_curl_setopt_pointer(handle, CURLOPT_ERRORBUFFER, UnsafeMutableRawPointer(errorBuffer)), "the error buffer")
        // The debug callback sees the server's replies (libcurl's error buffer only has the code).
        // It never keeps what goes out: AUTH carries the password.
        set(batchgate_curl_setopt_debug_callback(handle, CURLOPT_DEBUGFUNCTION, followConversation), "the reply callback")
        set(batchgate_curl_setopt_pointer(handle, CURLOPT_DEBUGDATA, conversation.toOpaque()), "the reply callback data")
        set(batchgate_curl_setopt_long(handle, CURLOPT_VERBOSE, 1), "the reply callback switch")
        if let failure { throw failure }

        let result = curl_easy_perform(handle)
        var status = 0
        _ = batchgate_curl_getinfo_long(handle, CURLINFO_RESPONSE_CODE, &status)
        guard result != CURLE_OK else { return Receipt(status: status, refused: conversation.takeUnretainedValue().refusedRecipients) }

        let refusal = status >= 400 ? status : nil
        var parts = [String(cString: curl_easy_strerror(result))]
        let buffered = String(cString: errorBuffer).trimmingSpaces
        // The buffer usually ends with the code's own words: said once.
        if !buffered.isEmpty { parts = buffered.contains(parts[0]) ? [buffered] : parts + [buffered] }
        // libcurl's code does not say which step the refusal answered (CURLE_SEND_ERROR stands for
        // a refused MAIL, RCPT and DATA alike, and a refusal after the message's text is
        // CURLE_RECV_ERROR or CURLE_WEIRD_SERVER_REPLY by version): the conversation does.
        var phase: SMTPPhase?
        if let refusal, let reply = conversation.takeUnretainedValue().lastReply, reply.hasPrefix(String(refusal)) {
            parts.append("the server said: \(reply)")
            phase = conversation.takeUnretainedValue().lastReplyPhase
        }
        var error = MailError.failed(result, smtpStatus: refusal, answering: phase, message: parts.joined(separator: "; "))
        error.options = options.transferOptions
        throw error
    }

    /// Refuses, before any connection, what must not be sent.
    private static func check(_ delivery: MailDelivery) throws(MailError) {
        let url = delivery.url.lowercased()
        guard url.hasPrefix("smtp://") || url.hasPrefix("smtps://") else {
            throw MailError.refused(CURLE_UNSUPPORTED_PROTOCOL, "the mail server's URL must start with smtp:// or smtps://")
        }
        guard !delivery.to.isEmpty else {
            throw MailError.refused(CURLE_BAD_FUNCTION_ARGUMENT, "the mail has no recipient")
        }
        for (role, address) in [("sender", delivery.from)] + delivery.to.map({ ("recipient", $0) }) {
            if let problem = addressProblem(address) {
                throw MailError.refused(CURLE_BAD_FUNCTION_ARGUMENT, "the \(role) address \(problem)")
            }
        }
        if url.hasPrefix("smtp://") && !delivery.requireTLS && delivery.password != nil {
            throw MailError.refused(CURLE_BAD_FUNCTION_ARGUMENT,
                                    "a password is never sent in clear: require STARTTLS or use an smtps:// URL")
        }
    }

    /// Why an envelope address cannot go into MAIL FROM or RCPT TO, or nil when it can.
    /// A line break would inject an SMTP command; brackets would end the address early.
    static func addressProblem(_ address: String) -> String? {
        if address.isEmpty { return "is empty" }
        for scalar in address.unicodeScalars {
            if scalar.value < 0x20 || scalar.value == 0x7F { return "contains a control character (a line break?)" }
            if scalar == "<" || scalar == ">" { return "must be bare, without < and >" }
        }
        return nil
    }
}

/// The message and how much of it libcurl has read.
private final class MessageReader {
    let bytes: [UInt8]
    var offset = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }
}

private let readMessage: batchgate_curl_data_callback = { buffer, size, count, userdata in
    guard let buffer, let userdata else { return 0 }
    let reader = Unmanaged<MessageReader>.fromOpaque(userdata).takeUnretainedValue()
    let length = min(size * count, reader.bytes.count - reader.offset)
    guard length > 0 else { return 0 }  // the end of the message
    reader.bytes.withUnsafeBytes { bytes in
        UnsafeMutableRawPointer(buffer).copyMemory(from: bytes.baseAddress! + reader.offset, byteCount: length)
    }
    reader.offset += length
    return length
}

/// The server's replies as the debug callback sees them: the last one is kept, up to QUIT.
private final class SMTPConversation {
    /// The last reply's lines (a multi-line reply has `250-` lines before the final `250 `).
    var replyLines: [String] = []
    var replyFinished = true
    /// After QUIT the replies no longer tell why the transfer ended.
    var quitting = false
    /// The address of the RCPT TO awaiting its reply.
    var recipientAsked: String?
    /// Recipients whose RCPT TO got a 4xx or 5xx reply, with it.
    var refusedRecipients: [(address: String, reply: String)] = []
    /// The step the last command sent opened, and the one the last reply answered.
    var phase = SMTPPhase.session
    var lastReplyPhase = SMTPPhase.session

    /// The last reply, one line: continuation lines without their repeated code.
    var lastReply: String? {
        guard let first = replyLines.first else { return nil }
        return ([first] + replyLines.dropFirst().map { String($0.dropFirst(4)) }).joined(separator: " ")
    }

    func received(_ line: String) {
        guard !quitting else { return }
        if replyFinished { replyLines = [] }
        let utf8 = Array(line.utf8)
        replyFinished = !(utf8.count > 3 && utf8[3] == UInt8(ascii: "-"))
        // Kept whole well past RFC 5321's 512 octets: a line cut short could end in part of a
        // secret the server echoed, which the redactor would no longer recognise. The answer is
        // cut to its logged length only once it has been scrubbed (LibcurlAlertTransport.send).
        if replyLines.count < 8 { replyLines.append(String(line.prefix(4096))) }
        if replyFinished { lastReplyPhase = phase }
        if replyFinished, let address = recipientAsked {
            recipientAsked = nil
            if let reply = lastReply, let first = reply.first, first == "4" || first == "5" {
                refusedRecipients.append((address, reply))
            }
        }
    }

    /// A command went out: which step it opens, and which recipient a RCPT TO names, are kept
    /// (the rest, AUTH with the password among it, never is). A line that is no command (a
    /// login's base64) leaves the step as it is.
    func sent(_ command: [UInt8]) {
        func starts(with prefix: String) -> Bool {
            let prefix = Array(prefix.utf8)
            return command.count >= prefix.count && zip(command, prefix).allSatisfy { $0 & 0xDF == $1 & 0xDF }
        }
        if starts(with: "QUIT") { quitting = true }
        if starts(with: "EHLO ") || starts(with: "HELO ") || starts(with: "STARTTLS") || starts(with: "AUTH ") { phase = .session }
        if starts(with: "MAIL FROM:") { phase = .sender }
        // DATA takes no argument: the whole line is matched, so no base64 login can pass for it.
        if starts(with: "DATA\r\n") || (command.count == 4 && starts(with: "DATA")) { phase = .message }
        if starts(with: "RCPT TO:") {
            phase = .recipients
            let address = command.dropFirst(8).prefix { $0 != 0x0D && $0 != 0x0A && $0 != UInt8(ascii: " ") }
            recipientAsked = String(decoding: address, as: UTF8.self).trimmingCharacters(in: "<>")
        }
    }
}

private let followConversation: batchgate_curl_debug_callback = { _, type, data, size, userdata in
    guard let data, let userdata, type == CURLINFO_HEADER_IN || type == CURLINFO_HEADER_OUT else { return 0 }
    let conversation = Unmanaged<SMTPConversation>.fromOpaque(userdata).takeUnretainedValue()
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    if type == CURLINFO_HEADER_OUT {
        conversation.sent(Array(bytes.prefix(512)))
        return 0
    }
    let text = String(decoding: bytes, as: UTF8.self)
    conversation.received(String(text.unicodeScalars.map { $0.value < 0x20 || $0.value == 0x7F ? " " : Character($0) }).trimmingSpaces)
    return 0
}

extension String {
    /// Without the given characters at either end.
    fileprivate func trimmingCharacters(in set: String) -> String {
        var text = Substring(self)
        while let first = text.first, set.contains(first) { text.removeFirst() }
        while let last = text.last, set.contains(last) { text.removeLast() }
        return String(text)
    }

    /// Without leading and trailing spaces.
    fileprivate var trimmingSpaces: String { trimmingCharacters(in: " ") }
}

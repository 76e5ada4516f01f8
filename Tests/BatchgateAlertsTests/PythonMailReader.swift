import Foundation
import TestSupport
@testable import BatchgateAlerts

/// Reads rendered mails the way a mail program does, with Python's `email` package
/// (Tests/TestSupport/mail_read_check.py, `policy=email.policy.default`): a mail is right when
/// the parser finds no defect in it or its headers, and its text, subject, recipients and
/// Message-ID decode back to what was meant.
enum PythonMailReader {
    /// One mail and what a reader must find in it.
    struct Expectation {
        var name: String
        var raw: [UInt8]
        /// The body as it was written, line ends as LF.
        var text: String
        var subject: String
        var to: [String]
        var messageID: String

        /// What `message` must decode to: its body with CRLF as LF, its subject without line
        /// breaks (they become spaces).
        init(name: String, message: MailMessage, raw: [UInt8]? = nil) {
            self.name = name
            self.raw = raw ?? message.rendered()
            text = message.body.replacingOccurrences(of: "\r\n", with: "\n")
            subject = MailMessage.headerSafe(message.subject)
            to = message.to
            messageID = message.messageID
        }
    }

    /// What the reader found wrong, one line per problem (`name: what`); empty when every mail
    /// reads back as meant.
    static func problems(_ expectations: [Expectation]) throws -> [String] {
        let cases = expectations.map { expectation -> [String: Any] in
            ["name": expectation.name, "raw": Data(expectation.raw).base64EncodedString(), "text": expectation.text,
             "subject": expectation.subject, "to": expectation.to, "message_id": expectation.messageID]
        }
        let result = try PythonTool.run("mail_read_check.py", input: try JSONSerialization.data(withJSONObject: cases))
        guard result.status == 0, let found = try? JSONSerialization.jsonObject(with: Data(result.output.utf8)) as? [String] else {
            return ["mail_read_check.py failed (\(result.status)): \(result.output)"]
        }
        return found
    }
}

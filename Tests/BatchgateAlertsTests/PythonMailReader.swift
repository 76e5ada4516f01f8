import Foundation
@testable import BatchgateAlerts

/// Reads rendered mails the way a mail program does, with Python's `email` package (Debian's
/// /usr/bin/python3, `policy=email.policy.default`): a mail is right when the parser finds no
/// defect in it or its headers, and its text, subject, recipients and Message-ID decode back to
/// what was meant.
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

    static let script = #"""
        import base64, email, email.policy, json, sys

        problems = []
        with open(sys.argv[1], encoding="utf-8") as cases:
            for case in json.load(cases):
                def problem(text):
                    problems.append(case["name"] + ": " + text)

                message = email.message_from_bytes(base64.b64decode(case["raw"]), policy=email.policy.default)
                if message.defects:
                    problem(f"defects {message.defects!r}")
                for name, value in message.items():
                    if value.defects:
                        problem(f"{name} has defects {value.defects!r}")
                if message.get_content_type() != "text/plain" or message.get_content_charset() != "utf-8":
                    problem(f"content type {message['Content-Type']}")
                if message["Content-Transfer-Encoding"] != "quoted-printable":
                    problem(f"transfer encoding {message['Content-Transfer-Encoding']}")
                text = message.get_content().replace("\r\n", "\n")
                if text != case["text"]:
                    at = next((i for i, (a, b) in enumerate(zip(text, case["text"])) if a != b), min(len(text), len(case["text"])))
                    problem(f"text differs at {at} of {len(case['text'])}: {text[at:at + 40]!r} for {case['text'][at:at + 40]!r}")
                if str(message["Subject"]) != case["subject"]:
                    problem(f"subject {str(message['Subject'])!r} for {case['subject']!r}")
                if [address.addr_spec for address in message["To"].addresses] != case["to"]:
                    problem(f"to {message['To'].addresses!r}")
                if str(message["Message-ID"]).strip() != "<" + case["message_id"] + ">":
                    problem(f"message id {str(message['Message-ID'])!r}")
        print(json.dumps(problems))
        """#

    /// What the reader found wrong, one line per problem (`name: what`); empty when every mail
    /// reads back as meant.
    static func problems(_ expectations: [Expectation]) throws -> [String] {
        let input = FileManager.default.temporaryDirectory.appendingPathComponent("batchgate-mails-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: input) }
        let cases = expectations.map { expectation -> [String: Any] in
            ["name": expectation.name, "raw": Data(expectation.raw).base64EncodedString(), "text": expectation.text,
             "subject": expectation.subject, "to": expectation.to, "message_id": expectation.messageID]
        }
        try JSONSerialization.data(withJSONObject: cases).write(to: input)

        let python = Process()
        python.executableURL = URL(fileURLWithPath: "/usr/bin/python3")
        python.arguments = ["-c", script, input.path]
        let output = Pipe()
        let errors = Pipe()
        python.standardOutput = output
        python.standardError = errors
        try python.run()
        let said = output.fileHandleForReading.readDataToEndOfFile()
        let complaint = errors.fileHandleForReading.readDataToEndOfFile()
        python.waitUntilExit()
        guard python.terminationStatus == 0, let found = try JSONSerialization.jsonObject(with: said) as? [String] else {
            return ["python3 failed (\(python.terminationStatus)): \(String(decoding: complaint, as: UTF8.self))"]
        }
        return found
    }
}

#!/usr/bin/python3
"""Reads mails as a mail program does, with Python's email package (policy=email.policy.default).

Input (stdin): a JSON list of {"name", "raw" (the message, base64), "text", "subject", "to",
"message_id"}. A mail is right when the parser finds no defect in it or its headers, it is
text/plain UTF-8 in quoted-printable, and its text, subject, recipients and Message-ID decode
back to what was meant. Prints a JSON list of problems, "name: what", empty when all are right.
"""

import base64, email, email.policy, json, sys

problems = []
for case in json.load(sys.stdin):
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

#!/usr/bin/python3
"""A real SMTP server on 127.0.0.1 for MailTransferTests (aiosmtpd, Debian's python3-aiosmtpd).

Modes (one of them):
  --plain                  no TLS offered
  --starttls CERT KEY      STARTTLS offered and required before MAIL and AUTH
  --implicit-tls CERT KEY  TLS from the first byte (smtps)
Options:
  --user U --password P    AUTH PLAIN/LOGIN required before MAIL
  --refuse-rcpt ADDR       answer 550 for this recipient (may be repeated)
  --refuse-data-containing TEXT
                           answer the end of DATA with `554 5.6.0 content refused` when the message
                           contains TEXT, as sent or as its text decodes (may be repeated)
  --data-size-limit N      the largest message taken, in octets: advertised as SIZE N, a MAIL FROM
                           with a larger SIZE= gets 552, more data than N gets 552 after DATA
                           (aiosmtpd's default is 33554432)
  --out FILE               one JSON line per received message: mail_from, rcpt_tos, tls,
                           login, data_base64 (the message as received, dot-unstuffed)

Lines are limited as RFC 5321 §4.5.3.1.6 says, 1,000 octets with the CRLF: a longer line of the
message gets `500 Line too long` once the data has ended, and the message is not taken. (aiosmtpd
alone lets a line of 1,001 octets through.)

It listens on a free port, prints that port on stdout once it listens, and serves until it is
killed or its stdin reaches end of file (so it never outlives the test process).
"""

import argparse
import asyncio
import base64
import email
import email.policy
import json
import logging
import ssl
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def parse_arguments():
    parser = argparse.ArgumentParser()
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--plain", action="store_true")
    mode.add_argument("--starttls", nargs=2, metavar=("CERT", "KEY"))
    mode.add_argument("--implicit-tls", nargs=2, metavar=("CERT", "KEY"))
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--refuse-rcpt", action="append", default=[])
    parser.add_argument("--refuse-data-containing", action="append", default=[])
    parser.add_argument("--data-size-limit", type=int)
    parser.add_argument("--out", required=True)
    arguments = parser.parse_args()
    if (arguments.user is None) != (arguments.password is None):
        parser.error("--user and --password go together")
    return arguments


class StrictSMTP(SMTP):
    """aiosmtpd with RFC 5321's line limit: 998 octets of text and the CRLF."""
    line_length_limit = 1000


def tls_context(cert_and_key):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_and_key[0], cert_and_key[1])
    return context


def readable_text(data):
    """The message as a reader sees it: headers and body decoded, or the bytes as UTF-8 when it
    does not parse as one text part."""
    text = data.decode("utf-8", "replace")
    try:
        message = email.message_from_bytes(data, policy=email.policy.default)
        return text + "\n" + "\n".join(str(value) for value in message.values()) + "\n" + message.get_content()
    except Exception:
        return text


class Recorder:
    def __init__(self, out, refused, refused_content):
        self.out = out
        self.refused = {address.lower() for address in refused}
        self.refused_content = refused_content

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.lower() in self.refused:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.refused_content:
            text = readable_text(envelope.original_content)
            if any(refused in text for refused in self.refused_content):
                return "554 5.6.0 content refused"
        login = None
        if session.auth_data is not None:
            login = getattr(session.auth_data, "login", None)
            if isinstance(login, bytes):
                login = login.decode("utf-8", "replace")
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": list(envelope.rcpt_tos),
            "tls": server.transport.get_extra_info("ssl_object") is not None,
            "login": login,
            "data_base64": base64.b64encode(envelope.original_content).decode("ascii"),
        }
        with open(self.out, "a", encoding="utf-8") as out:
            out.write(json.dumps(record) + "\n")
        return "250 2.0.0 OK: queued"


def main():
    arguments = parse_arguments()
    logging.basicConfig(level=logging.CRITICAL)  # aiosmtpd logs handshake failures the tests cause
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)

    def authenticator(server, session, envelope, mechanism, auth_data):
        accepted = (isinstance(auth_data, LoginPassword)
                    and auth_data.login == arguments.user.encode()
                    and auth_data.password == arguments.password.encode())
        return AuthResult(success=accepted, handled=False, auth_data=auth_data if accepted else None)

    handler = Recorder(arguments.out, arguments.refuse_rcpt, arguments.refuse_data_containing)
    wants_login = arguments.user is not None
    starttls = tls_context(arguments.starttls) if arguments.starttls else None
    implicit = tls_context(arguments.implicit_tls) if arguments.implicit_tls else None

    def protocol():
        return StrictSMTP(
            handler,
            hostname="localhost",
            loop=loop,
            enable_SMTPUTF8=True,
            tls_context=starttls,
            require_starttls=starttls is not None,
            # aiosmtpd only counts STARTTLS as TLS; smtps is TLS from the start.
            auth_require_tls=implicit is None,
            auth_required=wants_login,
            authenticator=authenticator if wants_login else None,
            timeout=30,
            **({} if arguments.data_size_limit is None else {"data_size_limit": arguments.data_size_limit}),
        )

    server = loop.run_until_complete(loop.create_server(protocol, host="127.0.0.1", port=0, ssl=implicit))
    print(server.sockets[0].getsockname()[1], flush=True)

    def stdin_readable():
        if not sys.stdin.buffer.read1(4096):
            loop.stop()

    loop.add_reader(sys.stdin.fileno(), stdin_readable)
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()

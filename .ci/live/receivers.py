#!/usr/bin/env python3
"""The alert receivers of the live systemd check, run inside the container on its loopback.

A webhook endpoint (HTTP, 127.0.0.1:8081) that accepts a POST only when its Authorization header
is the current token, and an SMTP server (127.0.0.1:8025, aiosmtpd) that requires STARTTLS and a
login with the current password. The token and password are read from files at each request, so
the check can rotate them. Every request is one JSON line in the log file; the check reads it.

Usage: receivers.py FOLDER  (FOLDER holds desk-token, smtp-password, cert.pem, key.pem; the log is
FOLDER/received.jsonl)
"""

import json
import os
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

FOLDER = sys.argv[1]
LOG = os.path.join(FOLDER, "received.jsonl")
lock = threading.Lock()


def current(name):
    with open(os.path.join(FOLDER, name), "rb") as file:
        return file.read().rstrip(b"\n")


def record(entry):
    entry["t"] = time.time()
    with lock, open(LOG, "a") as log:
        log.write(json.dumps(entry) + "\n")


class Hook(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        authorized = self.headers.get("Authorization", "").encode() == current("desk-token")
        try:
            event = json.loads(body).get("event")
        except ValueError:
            event = None
        record({"kind": "hook", "path": self.path, "authorized": authorized,
                "type": self.headers.get("ce-type"), "event": event})
        self.send_response(200 if authorized else 401)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


class Mailbox:
    async def handle_DATA(self, server, session, envelope):
        subject = ""
        for line in envelope.content.decode("utf-8", "replace").splitlines():
            if line.lower().startswith("subject:"):
                subject = line[8:].strip()
                break
        record({"kind": "mail", "from": envelope.mail_from, "to": envelope.rcpt_tos,
                "subject": subject, "tls": session.ssl is not None})
        return "250 OK"


def authenticate(server, session, envelope, mechanism, auth_data):
    ok = (isinstance(auth_data, LoginPassword) and auth_data.login == b"batchgate"
          and auth_data.password == current("smtp-password"))
    record({"kind": "login", "mechanism": mechanism, "ok": ok})
    return AuthResult(success=ok)


context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
context.load_cert_chain(os.path.join(FOLDER, "cert.pem"), os.path.join(FOLDER, "key.pem"))
smtp = Controller(Mailbox(), hostname="127.0.0.1", port=8025, tls_context=context,
                  require_starttls=True, authenticator=authenticate, auth_require_tls=True)
smtp.start()
ThreadingHTTPServer(("127.0.0.1", 8081), Hook).serve_forever()

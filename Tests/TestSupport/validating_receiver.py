#!/usr/bin/python3
"""An HTTP receiver on 127.0.0.1 that refuses what Slack and Teams would refuse, for the tests
that run the daemon against it (Debian's python3; slack_sdk from .build/python-tools).

  POST /slack        Slack's incoming webhook: slack_check.py's checks (slack_sdk's own block
                     models and Slack's message limits); 400 "invalid_blocks" and the problems
                     when any fails, else 200 "ok".
  POST /teams        a Teams Workflows webhook: 413 past 28 KB (28,672 bytes), 400 when a card
                     fails Microsoft's Adaptive Card schemas (adaptive_card_check.py), else 202.
  POST /blocks-refused  a Slack receiver stricter than any limit batchgate keeps to: 400
                     "invalid_blocks" for any message with blocks, 200 for `text` alone.

Writes one JSON line per request to --out: path, status, problems, body (text). Listens on a
free port, prints it once listening, and serves until its standard input ends (so it never
outlives the test process).
"""

import argparse
import http.server
import json
import os
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import adaptive_card_check  # noqa: E402  (beside this file)
import slack_check  # noqa: E402

TEAMS_LIMIT = 28 * 1024


def answer(path, body, schemas):
    """(status, problems) for one request."""
    try:
        payload = json.loads(body)
    except ValueError as error:
        return 400, [f"not JSON: {error}"]
    if path == "/slack":
        problems = slack_check.check(payload, "message")
        return (400 if problems else 200), problems
    if path == "/teams":
        if len(body) > TEAMS_LIMIT:
            return 413, [f"{len(body)} bytes, over Teams' {TEAMS_LIMIT}"]
        problems = adaptive_card_check.check(payload, schemas)
        return (400 if problems else 202), problems
    if path == "/blocks-refused":
        return (400, ["blocks refused"]) if "blocks" in payload else (200, [])
    return 404, [f"no receiver at {path}"]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    arguments = parser.parse_args()
    schemas = adaptive_card_check.load_schemas(
        os.path.join(os.path.dirname(os.path.abspath(__file__)), "AdaptiveCardSchemas"))
    lock = threading.Lock()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, problems = answer(self.path, body, schemas)
            with lock, open(arguments.out, "a", encoding="utf-8") as out:
                out.write(json.dumps({"path": self.path, "status": status, "problems": problems,
                                      "body": body.decode("utf-8", "replace")}) + "\n")
            reply = ("ok" if status < 300 else "invalid_blocks\n" + "\n".join(problems)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *_):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()
    server.shutdown()


if __name__ == "__main__":
    main()

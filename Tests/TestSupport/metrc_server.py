#!/usr/bin/python3
"""A Metrc-shaped catalog API on 127.0.0.1 for the tests (Debian's python3, standard library only).

It answers the reads a catalog sync makes, shaped as the project's Metrc notes document them
(spec/metrc.md in the shared folder beside the repository, "Reading the catalog from Metrc's API"):

  GET /items/v2/active                 items, paged
  GET /packages/v2/active|inactive|onhold
                                       packages in that state, paged
  GET /packages/v2/{label}             one package (any state) as a single object; 404 when unknown
  GET /items/v1/active, /packages/v1/active|inactive|onhold, /packages/v1/{label}
                                       the same as bare arrays, without paging

Every request needs `licenseNumber=` naming the facility of the data file, and HTTP Basic with the
vendor key as the user name and the user key as the password. The list endpoints need a window,
`lastModifiedStart` and `lastModifiedEnd` (ISO 8601 with an offset, at most 24 hours apart), and
answer the records whose `LastModified` falls in [start, end). v2 pages with `pageNumber` (from 1)
and `pageSize` (at most 20) inside the envelope
`{"Data", "Total", "TotalRecords", "PageSize", "RecordsOnPage", "Page", "CurrentPage", "TotalPages"}`.

The facility comes from --data FILE, read again on every request so that a test can change it while
the server runs (replace it by rename, so that no request reads half a file):
  {"licenseNumber": "...", "items": [item records],
   "packages": [package records, each with an extra "state": "active" | "inactive" | "onhold"]}
The records are answered as they are written, the "state" taken out. The tests write them as
Metrc's endpoints do (MetrcTestServer.swift builds them): an item with Id, Name,
ProductCategoryName, ProductCategoryType, QuantityType (a name), UnitOfMeasureName, StrainName,
LastModified; a package with Id, Label, Quantity (a number), UnitOfMeasureName, PackagedDate,
LabTestingState, IsProductionBatch, ProductionBatchNumber (null when none), SourcePackageLabels,
IsOnHold, IsFinished (booleans), FinishedDate, ArchivedDate, LastModified, and the item nested as
"Item" with ProductCategoryType and QuantityType as integers, as Metrc's package examples write them
(or QuantityType as a name, or without it, as a test chooses).

Options:
  --vendor-key K --user-key K   the Basic credentials taken
  --forbid PATH-PREFIX          403 for paths starting so: a user key without that permission
                                (may be repeated)
  --max-per-second N            429 for a GET that would make more than N let through in one
                                second (a sliding second, measured as they arrive; default 50)
  --max-concurrent N            more than N requests in flight at once: 429 (default 10)
  --retry-after SECONDS         a Retry-After header on every 429 and 503 (none by default)
  --fail-first N --fail-status S
                                the first N requests answer S (a 503 outage, a 429 storm)
  --latency SECONDS             every request that gets past the limits takes this long, so that
                                concurrency can be reached on purpose
  --hang                        accept every request and never answer it
  --down-file PATH              while PATH exists, every request answers 503 (an outage a test
                                starts and ends by creating and removing the file)
  --move-while-paging KEY=TIME  when the first request for a page after the first arrives, the
                                record whose Label (a package) or Name (an item) is KEY takes
                                TIME as its LastModified from then on, before that page is
                                answered: a record modified while a client pages through a window
                                leaves it, and the records after it move one place forward
  --out FILE                    one JSON line per request: method, path, query (name -> value,
                                decoded), raw_query (as sent), status, started and ended
                                (time.monotonic() seconds) and in_flight (requests open when it
                                arrived, itself included). A hung request is written as it
                                arrives, with status and ended null.

It listens on a free port, prints that port once listening, and serves until its standard input
ends (so it never outlives the test process).
"""

import argparse
import base64
import collections
import datetime
import http.server
import json
import math
import os
import sys
import threading
import time
import traceback
import urllib.parse

V2_MAX_PAGE_SIZE = 20
# A window of 24 hours is what Metrc documents as safe everywhere; v1 is reported to refuse more,
# and whether paged v2 takes wider ones is unclear in the spec. This server refuses wider ones on
# both, which is the strict reading: a client that passes here passes on any state's server.
MAX_WINDOW = datetime.timedelta(hours=24)
PACKAGE_STATES = ("active", "inactive", "onhold")


class Refusal(Exception):
    """An answer other than 200: status, body, content type."""

    def __init__(self, status, body, content_type="text/plain; charset=utf-8"):
        super().__init__(body)
        self.status = status
        self.body = body
        self.content_type = content_type


def metrc_message(status, message):
    """Metrc's shape for a refused request that is not a refused row: {"Message": "..."}."""
    return Refusal(status, json.dumps({"Message": message}), "application/json; charset=utf-8")


def plain(status, text):
    """401, 403, 429 and 5xx: the spec says Metrc's 401 is text/plain; what Metrc writes in the
    others is not documented, so they are plain text too and no client should read them."""
    return Refusal(status, text)


def parse_instant(name, text):
    """An ISO 8601 date-time with an offset. A `+` sent unencoded arrives as a space (query strings
    decode `+` so, as Metrc's server does), and is refused here like any unreadable date."""
    try:
        instant = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise metrc_message(400, f"{name} '{text}' is not an ISO 8601 date-time"
                                 " (an offset's '+' must be sent as %2B)")
    if instant.tzinfo is None:
        # Metrc itself may read an offset-less time as the facility's local time (not documented);
        # the tests want every client to say which instant it means.
        raise metrc_message(400, f"{name} '{text}' has no UTC offset")
    return instant


def window(query):
    """[start, end) from lastModifiedStart / lastModifiedEnd, refused when missing or too wide."""
    start_text = query.get("lastModifiedStart")
    end_text = query.get("lastModifiedEnd")
    if start_text is None or end_text is None:
        # Metrc answers some list endpoints without a window, with a fraction of the rows (spec);
        # refusing makes a client that forgets the window fail loudly instead.
        raise metrc_message(400, "lastModifiedStart and lastModifiedEnd are required")
    start = parse_instant("lastModifiedStart", start_text)
    end = parse_instant("lastModifiedEnd", end_text)
    if end <= start:
        raise metrc_message(400, "lastModifiedEnd must be after lastModifiedStart")
    if end - start > MAX_WINDOW:
        raise metrc_message(400, "The date range between lastModifiedStart and lastModifiedEnd"
                                 " cannot be greater than 24 hours.")
    return start, end


def last_modified(record, data_file):
    """A record's LastModified as an instant; a test's data file missing it is the test's bug."""
    text = record.get("LastModified")
    try:
        instant = datetime.datetime.fromisoformat(text)
        if instant.tzinfo is None:
            raise ValueError("no offset")
        return instant
    except (TypeError, ValueError):
        raise plain(500, f"{data_file}: record {record.get('Label') or record.get('Name')!r}"
                         f" has no LastModified with an offset (found {text!r})")


def page(query, records):
    """The v2 envelope around one page of records."""
    def number(name, default):
        # Metrc's defaults when pageNumber or pageSize is left out are not documented; a client
        # always sends both, so the defaults here matter only to a hand-written request.
        text = query.get(name)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError:
            raise metrc_message(400, f"{name} '{text}' is not a whole number")
        if value < 1:
            raise metrc_message(400, f"{name} must be 1 or more")
        return value

    page_number = number("pageNumber", 1)
    page_size = number("pageSize", V2_MAX_PAGE_SIZE)
    if page_size > V2_MAX_PAGE_SIZE:
        raise metrc_message(400, f"The value of pageSize cannot be greater than {V2_MAX_PAGE_SIZE}.")
    first = (page_number - 1) * page_size
    rows = records[first:first + page_size]
    return {
        "Data": rows,
        "Total": len(records),
        "TotalRecords": len(records),
        "PageSize": page_size,
        "RecordsOnPage": len(rows),
        "Page": page_number,
        "CurrentPage": page_number,
        # 0 for an empty result: the spec does not say whether Metrc answers 0 or 1 there.
        "TotalPages": math.ceil(len(records) / page_size),
    }


def load(data_file):
    """The facility as the test last wrote it."""
    try:
        with open(data_file, encoding="utf-8") as handle:
            facility = json.load(handle)
    except (OSError, ValueError) as error:
        raise plain(500, f"cannot read the data file {data_file}: {error}")
    if not isinstance(facility, dict) or not isinstance(facility.get("licenseNumber"), str):
        raise plain(500, f"{data_file}: want an object with licenseNumber, items and packages")
    return facility


def public(package):
    """A package record as Metrc sends it: without the data file's own "state"."""
    return {name: value for name, value in package.items() if name != "state"}


def with_moves(record, moved):
    """The record with the LastModified a --move-while-paging gave it, when it was moved."""
    key = record.get("Label") or record.get("Name")
    return dict(record, LastModified=moved[key]) if key in moved else record


def catalog_answer(path, query, data_file, moved=None):
    """The 200 answer's body for an authorised request, or a Refusal. `moved` maps a Label or
    Name to the LastModified it has taken since the data file was written."""
    moved = moved or {}
    parts = path.strip("/").split("/")
    if len(parts) != 3 or parts[0] not in ("items", "packages") or parts[1] not in ("v1", "v2"):
        raise metrc_message(404, f"No endpoint at {path}")
    kind, version, last = parts
    facility = load(data_file)
    if query.get("licenseNumber") != facility["licenseNumber"]:
        # Metrc answers 401 for another facility's licence (spec); for a missing licenseNumber the
        # spec says nothing, so it is treated alike.
        raise plain(401, f"No access to facility '{query.get('licenseNumber', '')}' with these keys")
    if kind == "packages" and last not in PACKAGE_STATES:
        label = last
        for package in facility.get("packages", []):
            if package.get("Label") == label:
                return public(package)
        raise metrc_message(404, f"Package {label} does not exist in the current Facility.")
    if kind == "items" and last != "active":
        raise metrc_message(404, f"No endpoint at {path}")
    start, end = window(query)
    if kind == "items":
        records = [with_moves(item, moved) for item in facility.get("items", [])]
    else:
        records = [with_moves(public(package), moved) for package in facility.get("packages", [])
                   if package.get("state", "active") == last]
    records = [record for record in records if start <= last_modified(record, data_file) < end]
    return page(query, records) if version == "v2" else records


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--vendor-key", required=True)
    parser.add_argument("--user-key", required=True)
    parser.add_argument("--forbid", action="append", default=[])
    parser.add_argument("--max-per-second", type=int, default=50)
    parser.add_argument("--max-concurrent", type=int, default=10)
    parser.add_argument("--retry-after", type=int)
    parser.add_argument("--fail-first", type=int, default=0)
    parser.add_argument("--fail-status", type=int, default=503)
    parser.add_argument("--latency", type=float, default=0.0)
    parser.add_argument("--hang", action="store_true")
    parser.add_argument("--down-file")
    parser.add_argument("--move-while-paging", action="append", default=[])
    arguments = parser.parse_args()
    expected_authorization = "Basic " + base64.b64encode(
        f"{arguments.vendor_key}:{arguments.user_key}".encode()).decode("ascii")

    lock = threading.Lock()
    # What the handler threads share, under `lock`.
    state = {"arrived": 0, "in_flight": 0}
    # When each GET that got past the limits arrived. Only those count: whether Metrc counts the
    # GETs it refused is not documented, and counting them would keep a client that overshoots
    # locked out for as long as it retries.
    admitted = collections.deque()
    never = threading.Event()
    # --move-while-paging: waiting for the first request of a later page, then done (under `lock`).
    moves = {"pending": dict(move.split("=", 1) for move in arguments.move_while_paging), "done": {}}

    class Handler(http.server.BaseHTTPRequestHandler):
        # Keep-alive, so that a client reusing its connections (libcurl does) is measured as it
        # runs against a real server; every answer carries Content-Length for it.
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            started = time.monotonic()
            with lock:
                state["arrived"] += 1
                state["in_flight"] += 1
                arrival = state["arrived"]
                in_flight = state["in_flight"]
            split = urllib.parse.urlsplit(self.path)
            query = dict(urllib.parse.parse_qsl(split.query, keep_blank_values=True))
            record = {"method": self.command, "path": split.path, "query": query, "raw_query": split.query,
                      "started": started, "in_flight": in_flight}
            if arguments.hang:
                self.log(dict(record, status=None, ended=None))
                never.wait()
                return
            status, body, content_type = self.answer(split.path, query, arrival, in_flight, started)
            headers = [("Content-Type", content_type), ("Content-Length", str(len(body)))]
            if arguments.retry_after is not None and status in (429, 503):
                headers.append(("Retry-After", str(arguments.retry_after)))
            # Out of flight and logged before the answer is written: a client that sends its next
            # request the moment it reads this answer must not find this one still counted, and
            # a test that reads the log after its answer must find the line there.
            with lock:
                state["in_flight"] -= 1
            self.log(dict(record, status=status, ended=time.monotonic()))
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def answer(self, path, query, arrival, in_flight, started):
            """(status, body bytes, content type) for one GET."""
            try:
                if arrival <= arguments.fail_first:
                    raise plain(arguments.fail_status, f"scripted failure {arrival} of {arguments.fail_first}")
                if arguments.down_file and os.path.exists(arguments.down_file):
                    raise plain(503, "Service Unavailable (the test's outage)")
                # The limits before the keys: in which order Metrc checks is not documented, and
                # this way a client retrying with bad keys is throttled too.
                if in_flight > arguments.max_concurrent:
                    raise plain(429, f"more than {arguments.max_concurrent} requests at once")
                with lock:
                    while admitted and admitted[0] <= started - 1.0:
                        admitted.popleft()
                    if len(admitted) >= arguments.max_per_second:
                        raise plain(429, f"more than {arguments.max_per_second} GETs in one second")
                    admitted.append(started)
                if arguments.latency:
                    time.sleep(arguments.latency)
                if self.headers.get("Authorization") != expected_authorization:
                    raise plain(401, "Basic authentication with the vendor key and the user key was refused")
                for prefix in arguments.forbid:
                    if path.startswith(prefix):
                        raise plain(403, f"the user key has no permission for {path}")
                with lock:
                    if moves["pending"] and query.get("pageNumber", "1") != "1":
                        moves["done"].update(moves["pending"])
                        moves["pending"] = {}
                    moved = dict(moves["done"])
                body = catalog_answer(path, query, arguments.data, moved)
                return 200, json.dumps(body).encode(), "application/json; charset=utf-8"
            except Refusal as refusal:
                return refusal.status, refusal.body.encode(), refusal.content_type
            except Exception:
                # A bug here, or a data file of the wrong shape: the test reads why, rather than
                # a connection closed without an answer.
                return 500, traceback.format_exc().encode(), "text/plain; charset=utf-8"

        def refuse_method(self):
            """Metrc's writes are not served here; they are not rate-limited GETs either."""
            started = time.monotonic()
            length = int(self.headers.get("Content-Length", "0") or "0")
            self.rfile.read(length)
            body = f"{self.command} is not served by this test server".encode()
            self.log({"method": self.command, "path": urllib.parse.urlsplit(self.path).path, "query": {}, "raw_query": "",
                      "started": started, "in_flight": None, "status": 405, "ended": time.monotonic()})
            self.send_response(405)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_PUT = do_DELETE = refuse_method

        def log(self, line):
            with lock, open(arguments.out, "a", encoding="utf-8") as out:
                out.write(json.dumps(line) + "\n")

        def log_message(self, *_):
            pass

    class Server(http.server.ThreadingHTTPServer):
        # The default backlog of 5 drops connections of a burst, and a dropped SYN is retried
        # only after a second: that would look like a client that cannot reach its rate.
        request_queue_size = 128

    server = Server(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    print(server.server_address[1], flush=True)
    sys.stdin.read()
    # No server.shutdown(): it waits up to half a second for serve_forever's poll, on every test.
    # The serving thread and the handlers (hung ones too) are daemon threads: they end with us.


if __name__ == "__main__":
    main()

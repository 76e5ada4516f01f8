#!/usr/bin/env python3
"""The GET rate and concurrency a catalog sync reaches against Metrc's limits, measured by the server.

    bench/metrc_rate.py [--packages 3000] [--days 30] [--latency 0.02] [--rate 50] [--concurrent 10]
                        [--no-build | --binary PATH]

Starts the Metrc-shaped test server (Tests/TestSupport/metrc_server.py) with PACKAGES packages and
200 items spread over DAYS days, enforcing Metrc's limits for one facility (50 GETs in any second,
10 at once: more answers 429), each answer taking LATENCY seconds as a real server's would. Then:
  batchgate  `batchgate catalog sync` (release build) with requestsPerSecond RATE and
             concurrentRequests CONCURRENT: every window of every part, every page;
  peer       the same GETs from one plain sequential client (urllib, no pacing, one at a time),
             what a hand-made script does;
and prints, from the server's own log of arrivals for each: GETs, seconds, GETs per second, the
most GETs that arrived in any one second, the most in flight at once and the 429s, beside the
limits (the floor a client must stay under). Cleans up the server's files when done.
"""
import argparse
import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
import base64

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SERVER = os.path.join(ROOT, "Tests", "TestSupport", "metrc_server.py")
LICENCE = "SF-SBX-WV-1-8002"
VENDOR, USER = "bench-vendor-key", "bench-user-key"


def stamp(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def facility(packages, days):
    now = datetime.datetime.now(datetime.timezone.utc)
    items = []
    for index in range(200):
        items.append({"Id": index, "Name": "Item %d" % index, "ProductCategoryName": "Buds", "ProductCategoryType": "Buds",
                      "QuantityType": "WeightBased", "UnitOfMeasureName": "Grams", "StrainName": None,
                      "ApprovalStatus": "Approved", "IsUsed": True,
                      "LastModified": stamp(now - datetime.timedelta(seconds=(index * 7919) % (days * 86400)))})
    records = []
    states = ["active"] * 8 + ["onhold", "inactive"]
    for index in range(packages):
        item = items[index % len(items)]
        modified = now - datetime.timedelta(seconds=(index * 104729) % (days * 86400))
        records.append({"Id": 10_000 + index, "Label": "1A4FF01000000220%08d" % index, "PackageType": "Product",
                        "Quantity": 10, "UnitOfMeasureName": "Grams", "LastModified": stamp(modified),
                        "Item": {"Id": item["Id"], "Name": item["Name"], "ProductCategoryName": "Buds",
                                 "ProductCategoryType": 0, "QuantityType": 0},
                        "state": states[index % len(states)]})
    return {"licenseNumber": LICENCE, "items": items, "packages": records}


class Server:
    """metrc_server.py in a child process, its log in `out`."""

    def __init__(self, folder, data, latency):
        self.out = os.path.join(folder, "requests-%d.jsonl" % time.monotonic_ns())
        self.process = subprocess.Popen(
            ["/usr/bin/python3", SERVER, "--data", data, "--out", self.out, "--vendor-key", VENDOR, "--user-key", USER,
             "--latency", str(latency)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.port = int(self.process.stdout.readline().strip())
        self.url = "http://127.0.0.1:%d" % self.port

    def stop(self):
        self.process.stdin.close()
        self.process.wait(timeout=10)

    def requests(self):
        with open(self.out) as handle:
            return [json.loads(line) for line in handle if line.strip()]


def figures(requests):
    """GETs, seconds, GETs/s, most arrivals in any one second, most in flight, 429s."""
    gets = [r for r in requests if r["method"] == "GET"]
    starts = sorted(r["started"] for r in gets)
    seconds = (max(r["ended"] or r["started"] for r in gets) - starts[0]) if gets else 0
    busiest, first = 0, 0
    for last, moment in enumerate(starts):
        while moment - starts[first] >= 1.0:
            first += 1
        busiest = max(busiest, last - first + 1)
    in_flight = max((r["in_flight"] or 0) for r in gets) if gets else 0
    refused = sum(1 for r in gets if r["status"] == 429)
    return len(gets), seconds, (len(gets) / seconds if seconds else 0), busiest, in_flight, refused


def peer(server, days):
    """The same reads from one sequential client: every window of every part, every page."""
    auth = "Basic " + base64.b64encode(("%s:%s" % (VENDOR, USER)).encode()).decode()
    now = datetime.datetime.now(datetime.timezone.utc)
    for path, span in [("/items/v2/active", days), ("/packages/v2/active", days), ("/packages/v2/onhold", days),
                       ("/packages/v2/inactive", min(days, 30))]:
        start = now - datetime.timedelta(days=span)
        while start < now:
            end = min(start + datetime.timedelta(days=1), now)
            page, pages = 1, 1
            while page <= pages:
                query = urllib.parse.urlencode({"licenseNumber": LICENCE, "lastModifiedStart": stamp(start),
                                                "lastModifiedEnd": stamp(end), "pageNumber": page, "pageSize": 20})
                request = urllib.request.Request(server.url + path + "?" + query, headers={"Authorization": auth})
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:
                        pages = json.load(answer).get("TotalPages", 1)
                        page += 1
                except urllib.error.HTTPError as error:
                    if error.code != 429:
                        raise
                    time.sleep(1)
            start = end


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--packages", type=int, default=3000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--latency", type=float, default=0.02)
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--concurrent", type=int, default=10)
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--binary", help="a batchgate binary to measure instead of the release build")
    arguments = parser.parse_args()
    binary = arguments.binary
    if binary is None:
        if not arguments.no_build:
            subprocess.run(["swift", "build", "-c", "release", "--product", "batchgate"], cwd=ROOT, check=True)
        binary = os.path.join(subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                                             capture_output=True, text=True).stdout.strip(), "batchgate")
    folder = tempfile.mkdtemp(prefix="batchgate-metrc-rate-")
    try:
        data = os.path.join(folder, "facility.json")
        with open(data, "w") as handle:
            json.dump(facility(arguments.packages, arguments.days), handle)
        rows = []

        server = Server(folder, data, arguments.latency)
        config = os.path.join(folder, "batchgate.yaml")
        with open(config, "w") as handle:
            handle.write("stateRoot: %s\ncatalog:\n  metrc:\n    server: %s\n    licenseNumber: %s\n    vendorKey: %s\n"
                         "    userKey: %s\n    history: %dd\n    requestsPerSecond: %d\n    concurrentRequests: %d\n"
                         % (os.path.join(folder, "root"), server.url, LICENCE, VENDOR, USER, arguments.days,
                            arguments.rate, arguments.concurrent))
        sync = subprocess.run([binary, "catalog", "sync", "--config", config], capture_output=True, text=True)
        if sync.returncode != 0:
            sys.exit("catalog sync failed (%d):\n%s%s" % (sync.returncode, sync.stdout, sync.stderr))
        rows.append(("batchgate", figures(server.requests())))
        server.stop()

        server = Server(folder, data, arguments.latency)
        peer(server, arguments.days)
        rows.append(("peer (sequential)", figures(server.requests())))
        server.stop()

        print("Metrc sync: %d packages, 200 items over %d days; server latency %.0f ms; limits %d GETs/s, %d at once"
              % (arguments.packages, arguments.days, arguments.latency * 1000, 50, 10))
        print("  %-18s %6s %8s %8s %14s %10s %6s" % ("client", "GETs", "seconds", "GETs/s", "most in 1 s", "in flight", "429s"))
        print("  %-18s %6s %8s %8s %14d %10d %6d" % ("floor (the limit)", "", "", "", 50, 10, 0))
        for name, (gets, seconds, rate, busiest, in_flight, refused) in rows:
            print("  %-18s %6d %8.2f %8.1f %14d %10d %6d" % (name, gets, seconds, rate, busiest, in_flight, refused))
        print("  (batchgate configured at %d GETs/s and %d at once)" % (arguments.rate, arguments.concurrent))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

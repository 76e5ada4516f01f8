#!/usr/bin/env python3
"""Soak: the release daemon fed a steady stream for a long time. Does its memory stay flat?

    bench/soak.py [--minutes 30] [--rate 50] [--interval 10] [--no-webhook] [--no-build] [--keep]

Starts `batchgate run` (release build, fsync on, a webhook sink posting every needs-batch and
rejected manifest to a receiver in this script) on a fresh state root, then drops RATE manifests a
second for MINUTES minutes, each written in a staging folder and renamed into the inbox: 40 %
accepted JSON, 20 % needs-batch JSON, 10 % accepted CSV, 10 % needs-batch CSV, 10 % malformed JSON
and 10 % binary files with a .csv name (both rejected). Every INTERVAL seconds it samples the
daemon's VmRSS, RssAnon and VmHWM from /proc/PID/status, its open descriptors and threads.

At the end it waits for the last manifest and alert, stops the daemon with SIGTERM and checks:
every manifest in its expected outcome folder exactly once, under its own name, with its two
reports; nothing left in inbox/ or processing/, no draft; one audit line per manifest; every
alert received exactly once (by Idempotency-Key), none in outbox/ or outbox/dead/; no error in the
daemon's log; exit status 0.

Memory: the samples taken while files were being dropped are split in two; the first half is
warm-up (directory caches, malloc arenas, libcurl's connection cache). Over the second half:
  slope   least-squares fit of VmRSS against time, in KB per minute;
  growth  mean of the last quarter of all samples minus the mean of the third quarter.
Growth beyond noise fails the run: a slope above 1 % of the mean RSS per 10 minutes, unless the
whole rise it implies over the second half stays under NOISE_KB (allocator noise: glibc grows its
heap in steps of about 132 KB, and two such steps in a short run are not a trend), or a
quarter-to-quarter growth above 2 MB. Open descriptors must not grow over the second half by
more than 4 (libcurl keeps at most a few connections). Exits 0 on PASS, 1 on FAIL.
"""
import argparse
import collections
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTCOMES = ("accepted", "needs-batch", "rejected")
# Allocator noise tolerated over the second half (see the docstring).
NOISE_KB = 256
GROWTH_LIMIT_KB = 2048
FD_GROWTH_LIMIT = 4

CSV_HEADER = "Tag,Item,Category,Quantity,UoM,Source Tag,Source Category,Source Quantity,Source UoM\n"


def manifest(number):
    """(name, bytes, expected folder) for the n-th file: the mix described above."""
    tag = "1A4FF0300000022%09d" % number
    kind = number % 10
    if kind < 6:
        category = "Concentrate" if kind >= 4 else "Buds"
        body = ('[{"Tag": "%s", "Item": "Soak %d", "ItemCategory": "%s", "Quantity": 1, "UnitOfMeasure": "Grams", '
                '"Ingredients": [{"Package": "1A4FF0100000022000000001", "Quantity": 1, "UnitOfMeasure": "Grams", '
                '"ItemCategory": "Buds"}]}]' % (tag, number, category))
        return "soak-%07d.json" % number, body.encode(), "needs-batch" if kind >= 4 else "accepted"
    if kind < 8:
        category = "Concentrate" if kind == 7 else "Buds"
        body = CSV_HEADER + "%s,Soak %d,%s,1,Grams,1A4FF0100000022000000001,Buds,1,Grams\n" % (tag, number, category)
        return "soak-%07d.csv" % number, body.encode(), "needs-batch" if kind == 7 else "accepted"
    if kind == 8:
        return "soak-%07d.json" % number, b'[{"Tag": "%s", "Quantity": ' % tag.encode(), "rejected"
    return "soak-%07d.csv" % number, bytes(range(256)) * 4, "rejected"


class Receiver(http.server.ThreadingHTTPServer):
    """The webhook: answers 200 and counts each Idempotency-Key."""
    daemon_threads = True

    def __init__(self):
        self.keys = collections.Counter()
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), ReceiverHandler)


class ReceiverHandler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with self.server.lock:
            self.server.keys[self.headers.get("Idempotency-Key", "")] += 1
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def proc_sample(pid):
    status = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            status[key] = value.strip()
    kb = lambda key: int(status.get(key, "0 kB").split()[0])
    return {"rss": kb("VmRSS"), "anon": kb("RssAnon"), "hwm": kb("VmHWM"), "threads": int(status.get("Threads", 0)),
            "fds": len(os.listdir("/proc/%d/fd" % pid))}


def linear_slope(points):
    """Least-squares slope of (x, y) points."""
    n = len(points)
    if n < 2:
        return 0.0
    mean_x = sum(x for x, _ in points) / n
    mean_y = sum(y for _, y in points) / n
    sxx = sum((x - mean_x) ** 2 for x, _ in points)
    return sum((x - mean_x) * (y - mean_y) for x, y in points) / sxx if sxx else 0.0


def mean(values):
    return sum(values) / len(values) if values else 0.0


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--rate", type=float, default=50, help="files dropped per second")
    parser.add_argument("--interval", type=float, default=10, help="seconds between memory samples")
    parser.add_argument("--no-webhook", action="store_true", help="run without the alert sink")
    parser.add_argument("--no-build", action="store_true", help="use the release binary already built")
    parser.add_argument("--keep", action="store_true", help="keep the state root and the daemon's log")
    parser.add_argument("--samples", help="also write the samples to this CSV file")
    args = parser.parse_args()

    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "batchgate"], cwd=ROOT, check=True)
    binary = os.path.join(subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                                         capture_output=True, text=True).stdout.strip(), "batchgate")
    work = tempfile.mkdtemp(prefix="batchgate-soak-")
    state = os.path.join(work, "state")
    staging = os.path.join(work, "state", "staging")
    os.makedirs(staging)

    receiver = None
    config = "stateRoot: %s\nfsync: true\n" % state
    if not args.no_webhook:
        receiver = Receiver()
        threading.Thread(target=receiver.serve_forever, daemon=True).start()
        config += ("alerts:\n  sinks:\n    - name: soak-hook\n      type: webhook\n"
                   "      url: http://127.0.0.1:%d/hook\n" % receiver.server_address[1])
    config_path = os.path.join(work, "batchgate.yaml")
    with open(config_path, "w") as f:
        f.write(config)
    log_path = os.path.join(work, "daemon.log")
    log = open(log_path, "wb")
    daemon = subprocess.Popen([binary, "run", "--config", config_path], stderr=log, stdout=subprocess.DEVNULL)
    deadline = time.time() + 20
    while b"watching" not in open(log_path, "rb").read():
        if daemon.poll() is not None or time.time() > deadline:
            sys.exit("the daemon did not start:\n" + open(log_path).read())
        time.sleep(0.05)

    total = int(args.minutes * 60 * args.rate)
    expected = {}
    dropped = [0]
    print("soak: %s, %d manifests at %g/s over %g min, fsync on, webhook %s; samples every %g s; work in %s"
          % (binary, total, args.rate, args.minutes, "off" if args.no_webhook else "on", args.interval, work), flush=True)

    def produce():
        start = time.monotonic()
        for number in range(total):
            wait = start + number / args.rate - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            name, body, folder = manifest(number)
            expected[name] = folder
            path = os.path.join(staging, name)
            with open(path, "wb") as f:
                f.write(body)
            os.rename(path, os.path.join(state, "inbox", name))
            dropped[0] = number + 1

    audit_path = os.path.join(state, "audit.jsonl")
    audit_count = [0, 0]  # lines, bytes read

    def routed():
        try:
            with open(audit_path, "rb") as f:
                f.seek(audit_count[1])
                chunk = f.read()
        except FileNotFoundError:
            return 0
        complete = chunk.rfind(b"\n") + 1
        audit_count[0] += chunk[:complete].count(b"\n")
        audit_count[1] += complete
        return audit_count[0]

    def outbox_waiting():
        return sum(1 for n in os.listdir(os.path.join(state, "outbox")) if n.endswith(".json") and not n.startswith("."))

    samples = []
    producer = threading.Thread(target=produce)
    started = time.monotonic()
    producer.start()

    def sample(phase):
        s = proc_sample(daemon.pid)
        s.update(t=time.monotonic() - started, phase=phase, dropped=dropped[0], routed=routed(), outbox=outbox_waiting())
        samples.append(s)
        print("t=%6.0f s  rss %6.1f MB  anon %6.1f MB  hwm %6.1f MB  fds %3d  threads %2d  dropped %7d  routed %7d  outbox %4d"
              % (s["t"], s["rss"] / 1024, s["anon"] / 1024, s["hwm"] / 1024, s["fds"], s["threads"], s["dropped"],
                 s["routed"], s["outbox"]), flush=True)
        if daemon.poll() is not None:
            sys.exit("the daemon exited with status %s during the soak; log in %s" % (daemon.returncode, log_path))

    sample("drop")
    next_sample = started + args.interval
    while producer.is_alive():
        producer.join(timeout=max(0, next_sample - time.monotonic()))
        if time.monotonic() >= next_sample:
            sample("drop")
            next_sample += args.interval
    sample("drop")
    drop_seconds = time.monotonic() - started
    deadline = time.monotonic() + 120
    while (routed() < total or (receiver and outbox_waiting())) and time.monotonic() < deadline:
        time.sleep(0.2)
    sample("drained")

    daemon.send_signal(signal.SIGTERM)
    status = daemon.wait(timeout=30)
    log.close()

    problems = []
    # Every manifest exactly once, where expected, with its reports.
    seen = collections.Counter()
    for folder in OUTCOMES:
        names = os.listdir(os.path.join(state, folder))
        present = set(names)
        drafts = [n for n in names if n.startswith(".")]
        if drafts:
            problems.append("%d draft(s) left in %s/" % (len(drafts), folder))
        for name in names:
            if name.startswith(".") or ".report." in name:
                continue
            seen[name] += 1
            if expected.get(name) != folder:
                problems.append("%s is in %s/, expected %s/" % (name, folder, expected.get(name)))
            if name + ".report.json" not in present or name + ".report.txt" not in present:
                problems.append("%s/%s lacks a report" % (folder, name))
    missing = [n for n in expected if n not in seen]
    twice = [n for n, c in seen.items() if c > 1]
    if len(seen) != total or missing or twice:
        problems.append("routed %d distinct of %d; missing %d (%s); twice %d" % (len(seen), total, len(missing), missing[:5], len(twice)))
    left = os.listdir(os.path.join(state, "inbox")) + os.listdir(os.path.join(state, "processing"))
    if left:
        problems.append("left in inbox/ or processing/: %s" % left[:5])
    audit = [json.loads(line)["originalName"] for line in open(audit_path, "rb")]
    if len(audit) != total or set(audit) != set(expected):
        problems.append("audit: %d lines, %d distinct names, for %d manifests" % (len(audit), len(set(audit)), total))
    alerts_expected = sum(1 for folder in expected.values() if folder != "accepted")
    if receiver:
        keys = receiver.keys
        repeats = sum(c - 1 for c in keys.values() if c > 1)
        if len(keys) != alerts_expected or repeats:
            problems.append("webhook: %d distinct alerts for %d expected, %d repeated" % (len(keys), alerts_expected, repeats))
        dead = os.listdir(os.path.join(state, "outbox", "dead"))
        if outbox_waiting() or dead:
            problems.append("outbox: %d waiting, %d dead" % (outbox_waiting(), len(dead)))
    log_text = open(log_path, "rb").read().decode("utf-8", "replace")
    errors = [line for line in log_text.splitlines() if " error: " in line]
    if errors:
        problems.append("%d error line(s) in the log, first: %s" % (len(errors), errors[0]))
    if status != 0:
        problems.append("the daemon exited with status %d on SIGTERM" % status)

    # Memory: warm-up is the first half of the dropping phase.
    drop = [s for s in samples if s["phase"] == "drop"]
    half = drop[len(drop) // 2:]
    slope = linear_slope([(s["t"] / 60, s["rss"]) for s in half])  # KB per minute
    window_minutes = (half[-1]["t"] - half[0]["t"]) / 60 if len(half) > 1 else 0
    mean_rss = mean([s["rss"] for s in half])
    slope_limit = max(0.01 * mean_rss / 10, NOISE_KB / window_minutes if window_minutes else float("inf"))
    quarter = max(1, len(drop) // 4)
    third_quarter = drop[len(drop) // 2: len(drop) // 2 + quarter]
    last_quarter = drop[-quarter:]
    growth = mean([s["rss"] for s in last_quarter]) - mean([s["rss"] for s in third_quarter])
    fd_growth = max(s["fds"] for s in half) - half[0]["fds"]
    if slope > slope_limit:
        problems.append("memory: RSS grows %.1f KB/min over the second half (limit %.1f KB/min)" % (slope, slope_limit))
    if growth > GROWTH_LIMIT_KB:
        problems.append("memory: the last quarter's mean RSS is %.0f KB above the third quarter's (limit %d KB)" % (growth, GROWTH_LIMIT_KB))
    if fd_growth > FD_GROWTH_LIMIT:
        problems.append("descriptors: %d more open over the second half" % fd_growth)

    rss = [s["rss"] for s in drop]
    print()
    print("dropped %d manifests in %.0f s (%.1f/s); routed %d; alerts %s" % (
        total, drop_seconds, total / drop_seconds, len(audit),
        "off" if not receiver else "%d received for %d expected" % (len(receiver.keys), alerts_expected)))
    print("VmRSS: first %.1f MB, last %.1f MB, min %.1f MB, max %.1f MB; VmHWM %.1f MB; RssAnon first %.1f MB, last %.1f MB" % (
        rss[0] / 1024, rss[-1] / 1024, min(rss) / 1024, max(rss) / 1024, drop[-1]["hwm"] / 1024,
        drop[0]["anon"] / 1024, drop[-1]["anon"] / 1024))
    print("second half (%d samples over %.1f min): slope %+.1f KB/min (limit %.1f); last quarter - third quarter %+.0f KB (limit %d); fds %d..%d"
          % (len(half), window_minutes, slope, slope_limit, growth, GROWTH_LIMIT_KB,
             min(s["fds"] for s in half), max(s["fds"] for s in half)))
    if args.samples:
        with open(args.samples, "w") as f:
            f.write("t_s,phase,rss_kb,anon_kb,hwm_kb,fds,threads,dropped,routed,outbox\n")
            for s in samples:
                f.write("%.1f,%s,%d,%d,%d,%d,%d,%d,%d,%d\n" % (s["t"], s["phase"], s["rss"], s["anon"], s["hwm"], s["fds"],
                                                              s["threads"], s["dropped"], s["routed"], s["outbox"]))
    for problem in problems:
        print("PROBLEM:", problem)
    if args.keep or problems:
        print("state root and daemon log kept in", work)
    else:
        shutil.rmtree(work, ignore_errors=True)
    print("soak:", "FAIL" if problems else "PASS")
    sys.exit(1 if problems else 0)


if __name__ == "__main__":
    main()

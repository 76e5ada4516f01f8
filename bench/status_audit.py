#!/usr/bin/env python3
"""How long `batchgate status` takes on a large audit.jsonl, which it reads from the end.

    bench/status_audit.py [--size-mb 1024] [--day-lines 20000] [--runs 5] [--no-build | --binary PATH]

Writes a state root in a temporary folder whose audit.jsonl holds SIZE-MB of lines (as the daemon
writes them) from the last 90 days, the last DAY-LINES of them within the last day, and an
audit.jsonl.1 beside it; then runs `batchgate status --root DIR --format json` (release build)
RUNS times and prints the wall time of each, the file's size and lines, and the counts it gave;
beside them, measured in the same run on the same file, a floor (`tail -n DAY-LINES`: the least
any reader of the day's lines must do, from the end) and a peer (`grep -c` over the whole file:
what counting the day by reading the log from its start costs). The counts must equal the lines
written. Removes the folder when done.
"""
import argparse
import datetime
import json
import os
import shutil
import subprocess
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DECISIONS = ["accepted", "needs-batch", "rejected"]


def stamp(seconds):
    moment = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + "%03dZ" % (moment.microsecond // 1000)


def line(seconds, number):
    decision = DECISIONS[number % 3]
    return json.dumps({
        "time": stamp(seconds), "id": "%032x" % number, "file": "manifest-%d.json" % number,
        "originalName": "manifest-%d.json" % number, "folder": decision, "decision": decision,
        "receivedAt": stamp(seconds - 1), "tags": ["1A4FF01000000220000%05d" % (number % 100000)],
        "rules": ["PB-1"] if decision == "needs-batch" else [], "batchNumbers": [],
        "summary": "3 packages; 1 needs the Production Batch indicator" if decision == "needs-batch" else "3 packages",
    }, separators=(",", ":")) + "\n"


def write_audit(path, size, day_lines, now):
    """Lines evenly spread over 90 days up to a day ago, then DAY-LINES over the last 23 hours."""
    sample = len(line(now, 0))
    old_lines = max(0, size // sample - day_lines)
    start, old_end = now - 90 * 86400, now - 86400
    count = 0
    with open(path, "w") as out:
        chunk = []
        for number in range(old_lines):
            chunk.append(line(start + (old_end - start) * number / max(1, old_lines), number))
            if len(chunk) == 10000:
                out.write("".join(chunk))
                chunk = []
        # Within the last 23 hours, so that every one is still in `status`'s last day when it runs
        # a minute or more after this was written.
        for number in range(day_lines):
            chunk.append(line(old_end + 3600 + 82000 * (number + 1) / day_lines, old_lines + number))
        out.write("".join(chunk))
        count = old_lines + day_lines
    return count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--day-lines", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--binary", help="a batchgate binary to measure instead of the release build")
    args = parser.parse_args()

    binary = args.binary
    if binary is None:
        if not args.no_build:
            subprocess.run(["swift", "build", "-c", "release", "--product", "batchgate"], cwd=ROOT, check=True)
        binary = os.path.join(subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                                             capture_output=True, text=True).stdout.strip(), "batchgate")

    folder = tempfile.mkdtemp(prefix="batchgate-status-bench-")
    try:
        now = time.time()
        lines = write_audit(os.path.join(folder, "audit.jsonl"), args.size_mb << 20, args.day_lines, now)
        with open(os.path.join(folder, "audit.jsonl.1"), "w") as rotated:
            rotated.write(line(now - 100 * 86400, 0))
        size = os.path.getsize(os.path.join(folder, "audit.jsonl"))
        print("audit.jsonl: %.0f MB, %d lines, %d in the last day" % (size / 1e6, lines, args.day_lines))
        audit = os.path.join(folder, "audit.jsonl")

        def timed(command):
            began = time.monotonic()
            # Into a pipe, not /dev/null: GNU grep stops at its first match when it sees its
            # output is /dev/null, which would measure nothing.
            subprocess.run(command, stdout=subprocess.PIPE, check=False)
            return time.monotonic() - began

        floor = min(timed(["tail", "-n", str(args.day_lines), audit]) for _ in range(args.runs))
        peer = min(timed(["grep", "-c", '"decision":"', audit]) for _ in range(args.runs))
        print("floor, tail -n %d (the day's lines, from the end): %.3f s" % (args.day_lines, floor))
        print("peer, grep -c over the whole file: %.3f s" % peer)
        best = None
        for run in range(args.runs):
            began = time.monotonic()
            result = subprocess.run([binary, "status", "--root", folder, "--format", "json"], capture_output=True, text=True)
            seconds = time.monotonic() - began
            status = json.loads(result.stdout)
            day = status["manifests"]["lastDay"]
            print("run %d: %.3f s, exit %d, last day %d (%s), files read %s" % (
                run + 1, seconds, result.returncode, day["total"],
                ", ".join("%s %d" % (name, day[name]) for name in DECISIONS), status["manifests"]["filesRead"]))
            if day["total"] != args.day_lines:
                raise SystemExit("status counted %d lines in the last day, not the %d written" % (day["total"], args.day_lines))
            best = seconds if best is None else min(best, seconds)
        print("batchgate status, best of %d: %.3f s (floor %.3f s, peer %.3f s)" % (args.runs, best, floor, peer))
    finally:
        shutil.rmtree(folder)


if __name__ == "__main__":
    main()

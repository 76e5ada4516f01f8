#!/usr/bin/env python3
"""Throughput and peak memory of `batchgate check` over generated manifests, in one process.

    bench/check_throughput.py [--count 10000] [--rounds 3] [--cpu 0] [--no-build]

Steps: builds the release binaries; writes COUNT manifests (bench/generate_manifests.py, seeded);
then, each ROUNDS times, pinned to one core:
  floor  `cat` of every file into /dev/null: the cost of reading the files at all;
  check  `batchgate check --format json DIR > /dev/null`: read + evaluate + JSON report;
and prints the best rate of each, their ratio, and check's peak resident memory. Last it runs
batchgate-bench, which compares JSON parsers (Foundation's JSONSerialization and JSONDecoder against
batchgate's own) and times the pipeline in memory. Targets: at least 5,000 manifests per
second on one core and under 50 MB peak memory.
"""
import argparse
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_measured(command, cpu, stdout=subprocess.DEVNULL):
    """Runs command pinned to one core; returns (wall seconds, peak RSS in KiB of that child)."""
    if shutil.which("taskset"):
        command = ["taskset", "-c", str(cpu)] + command
    start = time.perf_counter()
    # A fresh child per measurement so ru_maxrss is this command's own (wait4 gives it directly).
    process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE, cwd=ROOT)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1, 2):
        sys.exit("command failed (%d): %s\n%s" % (code, " ".join(command), process.stderr.read().decode()))
    return elapsed, usage.ru_maxrss, usage.ru_utime + usage.ru_stime


def binary_dir():
    return subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                          capture_output=True, text=True).stdout.strip()


def build(products=("batchgate", "batchgate-bench")):
    for product in products:
        subprocess.run(["swift", "build", "-c", "release", "--product", product], cwd=ROOT, check=True)


def corpus_of(count):
    """The seeded corpus of COUNT manifests in bench/out/ (written once, then reused)."""
    corpus = os.path.join(ROOT, "bench", "out", "corpus-%d" % count)
    if not os.path.isdir(corpus) or len(os.listdir(corpus)) != count:
        shutil.rmtree(corpus, ignore_errors=True)
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "generate_manifests.py"), corpus, str(count)],
                       check=True)
    return corpus


# The peer of `check`: what a hand-made script does at the least, one Python process that
# parses every file with the standard library (json, csv) and applies no rule at all.
PEER_PARSE = """
import csv, io, json, os, sys
folder = sys.argv[1]
for name in sorted(os.listdir(folder)):
    with open(os.path.join(folder, name), encoding="utf-8") as f:
        text = f.read()
    rows = json.loads(text) if name.endswith(".json") else list(csv.reader(io.StringIO(text)))
"""


def measure(count=10_000, rounds=3, cpu=0, peer=False):
    """Best of ROUNDS, pinned to CPU: the cat floor, `batchgate check`, and with peer=True the
    Python parse peer. Returns a dict of figures (seconds, KiB, CPU seconds)."""
    batchgate = os.path.join(binary_dir(), "batchgate")
    corpus = corpus_of(count)
    files = sorted(os.listdir(corpus))
    list_file = os.path.join(ROOT, "bench", "out", "files-%d.txt" % count)
    with open(list_file, "w") as f:
        f.write("\n".join(os.path.join(corpus, name) for name in files) + "\n")
    floor = [run_measured(["xargs", "-a", list_file, "cat"], cpu) for _ in range(rounds)]
    check = [run_measured([batchgate, "check", "--format", "json", corpus], cpu) for _ in range(rounds)]
    result = {
        "count": count, "corpus": corpus, "rounds": rounds, "cpu": cpu,
        "json": sum(n.endswith(".json") for n in files), "csv": sum(n.endswith(".csv") for n in files),
        "bytes": sum(os.path.getsize(os.path.join(corpus, name)) for name in files),
        "floor": min(t for t, _, _ in floor), "check": min(t for t, _, _ in check),
        "check_peak_kib": max(rss for _, rss, _ in check), "check_cpu": min(c for _, _, c in check),
    }
    if peer:
        runs = [run_measured([sys.executable, "-c", PEER_PARSE, corpus], cpu) for _ in range(rounds)]
        result["peer"] = min(t for t, _, _ in runs)
        result["peer_peak_kib"] = max(rss for _, rss, _ in runs)
    return result


def main():
    parser = argparse.ArgumentParser(description="batchgate check throughput benchmark")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()

    if not args.no_build:
        build()
    m = measure(args.count, args.rounds, args.cpu)
    rate = args.count / m["check"]
    print()
    print("corpus: %d manifests (%d JSON, %d CSV), %.1f MB, 1-20 packages of 1-5 ingredients" % (
        args.count, m["json"], m["csv"], m["bytes"] / 1e6))
    print("pinned to CPU %d, best of %d rounds" % (args.cpu, args.rounds))
    print("  floor  cat every file:            %7.3f s  %8.0f files/s" % (m["floor"], args.count / m["floor"]))
    print("  check  read+evaluate+JSON report: %7.3f s  %8.0f manifests/s  (target >= 5000)" % (m["check"], rate))
    print("  check / floor time ratio:         %7.1fx" % (m["check"] / m["floor"]))
    print("  check peak resident memory:       %7.1f MB  (target < 50)" % (m["check_peak_kib"] / 1024))
    print("  check CPU time per manifest:      %7.1f us" % (m["check_cpu"] / args.count * 1e6))
    print()
    subprocess.run([os.path.join(binary_dir(), "batchgate-bench"), m["corpus"], str(args.rounds)], check=True)


if __name__ == "__main__":
    main()

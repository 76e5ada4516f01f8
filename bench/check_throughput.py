#!/usr/bin/env python3
"""Throughput and peak memory of `batchgate check` over generated manifests, in one process.

    bench/check_throughput.py [--count 10000] [--rounds 3] [--cpu 0] [--no-build]

Steps: builds the release binaries; writes COUNT manifests (bench/generate_manifests.py, seeded);
then, each ROUNDS times, pinned to one core:
  floor  `cat` of every file into /dev/null: the cost of reading the files at all;
  check  `batchgate check --format json DIR > /dev/null`: read + evaluate + JSON report;
and prints the best rate of each, their ratio, and check's peak resident memory. Last it runs
batchgate-bench, which compares JSON parsers (Foundation's JSONSerialization and JSONDecoder against
batchgate's own) and times the pipeline in memory. Targets (issue 2): at least 5,000 manifests per
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


def main():
    parser = argparse.ArgumentParser(description="batchgate check throughput benchmark")
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cpu", type=int, default=0)
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()

    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "batchgate"], cwd=ROOT, check=True)
        subprocess.run(["swift", "build", "-c", "release", "--product", "batchgate-bench"], cwd=ROOT, check=True)
    binary_dir = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout.strip()
    batchgate = os.path.join(binary_dir, "batchgate")

    corpus = os.path.join(ROOT, "bench", "out", "corpus-%d" % args.count)
    if not os.path.isdir(corpus) or len(os.listdir(corpus)) != args.count:
        shutil.rmtree(corpus, ignore_errors=True)
        subprocess.run([sys.executable, os.path.join(ROOT, "bench", "generate_manifests.py"), corpus, str(args.count)],
                       check=True)
    files = sorted(os.listdir(corpus))
    size = sum(os.path.getsize(os.path.join(corpus, name)) for name in files)

    list_file = os.path.join(ROOT, "bench", "out", "files-%d.txt" % args.count)
    with open(list_file, "w") as f:
        f.write("\n".join(os.path.join(corpus, name) for name in files) + "\n")

    floor = [run_measured(["xargs", "-a", list_file, "cat"], args.cpu) for _ in range(args.rounds)]
    check = [run_measured([batchgate, "check", "--format", "json", corpus], args.cpu) for _ in range(args.rounds)]

    best_floor = min(t for t, _, _ in floor)
    best_check = min(t for t, _, _ in check)
    peak_kib = max(rss for _, rss, _ in check)
    rate = args.count / best_check
    print()
    print("corpus: %d manifests (%d JSON, %d CSV), %.1f MB, 1-20 packages of 1-5 ingredients" % (
        len(files), sum(n.endswith(".json") for n in files), sum(n.endswith(".csv") for n in files), size / 1e6))
    print("pinned to CPU %d, best of %d rounds" % (args.cpu, args.rounds))
    print("  floor  cat every file:            %7.3f s  %8.0f files/s" % (best_floor, args.count / best_floor))
    print("  check  read+evaluate+JSON report: %7.3f s  %8.0f manifests/s  (target >= 5000)" % (best_check, rate))
    print("  check / floor time ratio:         %7.1fx" % (best_check / best_floor))
    print("  check peak resident memory:       %7.1f MB  (target < 50)" % (peak_kib / 1024))
    print("  check CPU time per manifest:      %7.1f us" % (min(c for _, _, c in check) / args.count * 1e6))
    print()
    subprocess.run([os.path.join(binary_dir, "batchgate-bench"), corpus, str(args.rounds)], check=True)


if __name__ == "__main__":
    main()

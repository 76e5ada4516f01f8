#!/usr/bin/env python3
"""Throughput and peak memory of `batchgate check` beside its floor and its peers, in one run.

    bench/check_throughput.py [--count 10000] [--rounds 3] [--cpu 0] [--no-build]

Steps: builds the release binaries; writes COUNT manifests (bench/generate_manifests.py, seeded);
then ROUNDS times, each command once a round in turn, pinned to one core:
  floor       `cat` of every file into /dev/null: the cost of reading the files at all;
  peer parse  one Python process parsing every file with json/csv from the standard library and
              applying no rule (the least a hand-made checker does);
  peer rules  bench/check_peer.py: one Python process applying the contract's rules to every file,
              one JSON line each (the fair peer: what check decides, without messages or lines);
  parse       `batchgate-bench parse DIR`: check's own listing, reading and parsing into the
              manifest model, and nothing after (no rules, pre-flight or report);
  check       `batchgate check --format json DIR > /dev/null`: read + evaluate + JSON report;
and prints the best time of each, check's peak resident memory and CPU time per manifest. Then one
more run of check, whose output is compared with the peer's (of its first round): every file's
decision and every package's status and rules must agree. Last it runs `batchgate-bench parsers`,
which compares JSON parsers and times the pipeline in memory.

Targets: check at least 5 times as fast as the rules peer and at most 2 times its own parse-only
pass, both in CPU time (see `ratios`; wall times are printed beside), under 50 MB peak memory, at
least 5,000 manifests per second on one core; and agreement on every file. Exit status 1 when one
is missed.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in bench/
import check_peer  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PEER = os.path.join(ROOT, "bench", "check_peer.py")
GNU_TIME = "/usr/bin/time"

# The targets of the figures `measure` returns (docs/benchmarks.md).
PEER_RATIO_TARGET = 5.0  # rules peer time / check time, at least
PARSE_RATIO_TARGET = 2.0  # check time / parse-only time, at most
PEAK_TARGET_MB = 50.0
RATE_TARGET = 5000  # manifests per second on one core


def run_measured(command, cpu, stdout=subprocess.DEVNULL):
    """Runs command pinned to one core; returns (wall seconds, peak RSS in KiB, CPU seconds) of that child.

    The peak is GNU time's where it is installed: a child's own ru_maxrss also counts the pages of
    this Python process it was forked from (about 15 MB, kept across exec), which would hide any
    smaller peak; GNU time forks the command from its own 2 MB."""
    if shutil.which("taskset"):
        command = ["taskset", "-c", str(cpu)] + command
    with tempfile.NamedTemporaryFile("r") as peak:
        if os.access(GNU_TIME, os.X_OK):
            command = [GNU_TIME, "-q", "-f", "%M", "-o", peak.name] + command
        start = time.perf_counter()
        process = subprocess.Popen(command, stdout=stdout, stderr=subprocess.PIPE, cwd=ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        elapsed = time.perf_counter() - start
        code = os.waitstatus_to_exitcode(status)
        if code not in (0, 1, 2):
            sys.exit("command failed (%d): %s\n%s" % (code, " ".join(command), process.stderr.read().decode()))
        peak_kib = int(peak.read().strip() or usage.ru_maxrss)
    return elapsed, peak_kib, usage.ru_utime + usage.ru_stime


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


# The parse-only peer: one Python process that parses every file with the standard library (json,
# csv) and applies no rule at all.
PEER_PARSE = """
import csv, io, json, os, sys
folder = sys.argv[1]
for name in sorted(os.listdir(folder)):
    with open(os.path.join(folder, name), encoding="utf-8") as f:
        text = f.read()
    rows = json.loads(text) if name.endswith(".json") else list(csv.reader(io.StringIO(text)))
"""


def agreement(batchgate, corpus, peer_output):
    """Runs check once more and compares its output, file by file, with the peer's saved output;
    returns how many files disagree (each printed)."""
    process = subprocess.Popen([batchgate, "check", "--format", "json", corpus], stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, cwd=ROOT, text=True)
    with open(peer_output) as f:
        disagreements = check_peer.compare(process.stdout, f)
    if process.wait() not in (0, 1, 2):
        sys.exit("batchgate check failed (%d) on %s" % (process.returncode, corpus))
    return disagreements


def measure(count=10_000, rounds=3, cpu=0):
    """Best of ROUNDS, pinned to CPU, each command once a round in turn: the cat floor, the Python
    parse and rules peers, batchgate's parse-only pass and `batchgate check`; then the agreement of
    check with the rules peer. Returns a dict of figures (seconds, KiB, CPU seconds, files)."""
    bin_path = binary_dir()
    batchgate = os.path.join(bin_path, "batchgate")
    corpus = corpus_of(count)
    files = sorted(os.listdir(corpus))
    out = os.path.join(ROOT, "bench", "out")
    list_file = os.path.join(out, "files-%d.txt" % count)
    with open(list_file, "w") as f:
        f.write("\n".join(os.path.join(corpus, name) for name in files) + "\n")
    peer_output = os.path.join(out, "peer-output-%d.jsonl" % count)
    commands = {
        "floor": ["xargs", "-a", list_file, "cat"],
        "peer_parse": [sys.executable, "-c", PEER_PARSE, corpus],
        "peer_rules": [sys.executable, PEER, corpus],
        "parse": [os.path.join(bin_path, "batchgate-bench"), "parse", corpus],
        "check": [batchgate, "check", "--format", "json", corpus],
    }
    runs = {name: [] for name in commands}
    for round_index in range(rounds):
        for name, command in commands.items():
            if name == "peer_rules" and round_index == 0:
                # Its decisions, one short line a file, are kept for the agreement check.
                with open(peer_output, "w") as f:
                    runs[name].append(run_measured(command, cpu, stdout=f))
            else:
                runs[name].append(run_measured(command, cpu))
    result = {
        "count": count, "corpus": corpus, "rounds": rounds, "cpu": cpu,
        "json": sum(n.endswith(".json") for n in files), "csv": sum(n.endswith(".csv") for n in files),
        "bytes": sum(os.path.getsize(os.path.join(corpus, name)) for name in files),
    }
    for name, measured in runs.items():
        result[name] = min(t for t, _, _ in measured)
        result[name + "_peak_kib"] = max(rss for _, rss, _ in measured)
        result[name + "_cpu"] = min(c for _, _, c in measured)
    result["disagreements"] = agreement(batchgate, corpus, peer_output)
    return result


def ratios(m, a, b):
    """(wall, CPU): how many times b's time a's is. The targets are judged on CPU time: each command
    runs alone on its pinned core, so its CPU time is its own work, while its wall time also holds
    whatever else the shared machine ran on that core meanwhile (on an idle machine they agree)."""
    return m[a] / m[b], m[a + "_cpu"] / m[b + "_cpu"]


def verdicts(m):
    """(target, description with the figure, met) of each target, from the figures of `measure`;
    the targets are "peer", "parse", "memory", "rate" and "agreement"."""
    peer_wall, peer_cpu = ratios(m, "peer_rules", "check")
    parse_wall, parse_cpu = ratios(m, "check", "parse")
    peak_mb = m["check_peak_kib"] / 1024
    return [
        ("peer", "check at least %g times the rules peer (peer / check in CPU time %.2f, wall %.2f)"
         % (PEER_RATIO_TARGET, peer_cpu, peer_wall), peer_cpu >= PEER_RATIO_TARGET),
        ("parse", "check within %g times its parse-only pass (check / parse in CPU time %.2f, wall %.2f)"
         % (PARSE_RATIO_TARGET, parse_cpu, parse_wall), parse_cpu <= PARSE_RATIO_TARGET),
        ("memory", "check peak memory under %g MB (%.1f MB)" % (PEAK_TARGET_MB, peak_mb), peak_mb < PEAK_TARGET_MB),
        ("rate", "check at least %d manifests/s on one core (%.0f/s)" % (RATE_TARGET, m["count"] / m["check"]),
         m["count"] / m["check"] >= RATE_TARGET),
        ("agreement", "the rules peer agrees with check on every file (%d of %d disagree)"
         % (m["disagreements"], m["count"]), m["disagreements"] == 0),
    ]


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
    print()
    print("corpus: %d manifests (%d JSON, %d CSV), %.1f MB, 1-20 packages of 1-5 ingredients" % (
        args.count, m["json"], m["csv"], m["bytes"] / 1e6))
    print("pinned to CPU %d, best of %d rounds (each command once a round, in turn)" % (args.cpu, args.rounds))
    rows = (("floor", "floor       cat every file"),
            ("peer_parse", "peer parse  Python json/csv, no rules"),
            ("peer_rules", "peer rules  Python, the contract's rules"),
            ("parse", "parse       batchgate's parse-only pass"),
            ("check", "check       read+evaluate+JSON report"))
    for name, label in rows:
        print("  %-42s %7.3f s  %8.0f files/s  %6.1f us CPU/file  %6.1f MB peak" % (
            label + ":", m[name], args.count / m[name], m[name + "_cpu"] / args.count * 1e6,
            m[name + "_peak_kib"] / 1024))
    for a, b, target in (("check", "floor", ""), ("check", "parse", "  (target <= %g)" % PARSE_RATIO_TARGET),
                         ("peer_rules", "check", "  (target >= %g)" % PEER_RATIO_TARGET), ("peer_parse", "check", "")):
        print("  %-10s / %-6s  wall %6.2fx  CPU %6.2fx%s" % ((a.replace("_", " "), b) + ratios(m, a, b) + (target,)))
    print()
    results = verdicts(m)
    for _, description, ok in results:
        print("  %-4s %s" % ("PASS" if ok else "MISS", description))
    print()
    subprocess.run([os.path.join(binary_dir(), "batchgate-bench"), "parsers", m["corpus"], str(args.rounds)],
                   check=True)
    sys.exit(0 if all(ok for _, _, ok in results) else 1)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Daemon benchmark: burst throughput beside a rename floor, steady latency, memory, idle CPU.

    bench/daemon_bench.py [--burst 10000] [--rate 100] [--steady-seconds 20] [--idle-seconds 60]
                          [--no-build] [--no-fsync]

One run, on this machine, of the release build of `batchgate run --root DIR`:
  floor   a Python loop that only renames the same files from a staging folder into another
          folder on the same filesystem: what moving the files costs at all;
  burst   the same number of manifests renamed into the inbox at once; time from the first
          rename until the last manifest sits in its outcome folder (seen through inotify);
  steady  one manifest every 1/RATE s; latency from the rename into the inbox to the manifest's
          arrival in its outcome folder, p50 / p99 / max;
  memory  the daemon's resident set (VmRSS) and peak (VmHWM) after the burst;
  idle    CPU time the daemon uses over IDLE seconds with nothing to do.
Targets (issue 3): >= 2,000 manifests/s in a burst with fsync on; p99 < 50 ms at 100/s;
< 40 MB resident; no measurable CPU when idle.
"""
import argparse
import ctypes
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
IN_MOVED_TO = 0x80
libc = ctypes.CDLL(None, use_errno=True)


def manifest(number, needs_batch):
    tag = "1A4FF0300000022%09d" % number
    category = "Concentrate" if needs_batch else "Buds"
    return ('[{"Tag": "%s", "Item": "Item %d", "ItemCategory": "%s", "Quantity": 1, "UnitOfMeasure": "Grams", '
            '"Ingredients": [{"Package": "1A4FF0100000022000000001", "Quantity": 1, "UnitOfMeasure": "Grams", '
            '"ItemCategory": "Buds"}]}]' % (tag, number, category)).encode()


class ArrivalWatcher:
    """Records when each name is moved into the outcome folders (inotify IN_MOVED_TO)."""

    def __init__(self, folders):
        self.fd = libc.inotify_init1(0)
        for folder in folders:
            libc.inotify_add_watch(self.fd, folder.encode(), IN_MOVED_TO)
        self.arrivals = {}
        self.lock = threading.Lock()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        while True:
            data = os.read(self.fd, 1 << 20)
            now = time.perf_counter()
            offset = 0
            while offset + 16 <= len(data):
                _, mask, _, length = struct.unpack_from("iIII", data, offset)
                name = data[offset + 16: offset + 16 + length].rstrip(b"\0").decode()
                offset += 16 + length
                if not name.startswith(".") and ".report." not in name:
                    with self.lock:
                        self.arrivals.setdefault(name, now)

    def count(self):
        with self.lock:
            return len(self.arrivals)

    def when(self, name):
        with self.lock:
            return self.arrivals.get(name)


def read_proc(pid):
    status = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            status[key] = value.strip()
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    cpu = (int(fields[11]) + int(fields[12])) / ticks
    return status, cpu


def start_daemon(binary, state, fsync):
    args = [binary, "run", "--root", state]
    if not fsync:
        config = os.path.join(os.path.dirname(state), "bench.yaml")
        with open(config, "w") as f:
            f.write("stateRoot: %s\nfsync: false\n" % state)
        args = [binary, "run", "--config", config]
    process = subprocess.Popen(args, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    line = process.stderr.readline()
    if "watching" not in line:
        sys.exit("daemon did not start: " + line + process.stderr.read())
    threading.Thread(target=lambda: process.stderr.read(), daemon=True).start()
    return process


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main():
    parser = argparse.ArgumentParser(description="batchgate daemon benchmark")
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--steady-seconds", type=float, default=20)
    parser.add_argument("--idle-seconds", type=float, default=60)
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--no-fsync", action="store_true")
    args = parser.parse_args()
    fsync = not args.no_fsync

    if not args.no_build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "batchgate"], cwd=ROOT, check=True)
    binary = os.path.join(subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                                         capture_output=True, text=True).stdout.strip(), "batchgate")

    work = tempfile.mkdtemp(prefix="batchgate-bench-", dir=os.path.join(ROOT, "bench"))
    try:
        state = os.path.join(work, "state")
        staging = os.path.join(work, "staging")
        os.makedirs(staging)
        names = ["burst-%05d.json" % n for n in range(args.burst)]

        def stage():
            for n, name in enumerate(names):
                with open(os.path.join(staging, name), "wb") as f:
                    f.write(manifest(n, n % 2 == 0))

        # Floor: rename the same files into another folder of the same filesystem, and nothing else.
        stage()
        floor_target = os.path.join(work, "floor")
        os.makedirs(floor_target)
        start = time.perf_counter()
        for name in names:
            os.rename(os.path.join(staging, name), os.path.join(floor_target, name))
        floor = time.perf_counter() - start
        shutil.rmtree(floor_target)

        # Burst.
        stage()
        daemon = start_daemon(binary, state, fsync)
        watcher = ArrivalWatcher([os.path.join(state, d) for d in ("accepted", "needs-batch", "rejected")])
        inbox = os.path.join(state, "inbox")
        start = time.perf_counter()
        for name in names:
            os.rename(os.path.join(staging, name), os.path.join(inbox, name))
        dropped = time.perf_counter() - start
        deadline = time.time() + 600
        while watcher.count() < args.burst and time.time() < deadline:
            time.sleep(0.01)
        burst = time.perf_counter() - start
        routed = watcher.count()
        status, _ = read_proc(daemon.pid)
        rss_after_burst, hwm_after_burst = status["VmRSS"], status["VmHWM"]

        # Steady rate.
        count = int(args.rate * args.steady_seconds)
        steady_names = ["steady-%05d.json" % n for n in range(count)]
        for n, name in enumerate(steady_names):
            with open(os.path.join(staging, name), "wb") as f:
                f.write(manifest(100_000 + n, n % 2 == 0))
        drops = {}
        start = time.perf_counter()
        for n, name in enumerate(steady_names):
            target = start + n / args.rate
            delay = target - time.perf_counter()
            if delay > 0:
                time.sleep(delay)
            drops[name] = time.perf_counter()
            os.rename(os.path.join(staging, name), os.path.join(inbox, name))
        deadline = time.time() + 60
        while watcher.count() < args.burst + count and time.time() < deadline:
            time.sleep(0.01)
        latencies = [(watcher.when(name) - drops[name]) * 1000 for name in steady_names if watcher.when(name)]

        # Idle CPU.
        time.sleep(1)
        _, cpu_before = read_proc(daemon.pid)
        time.sleep(args.idle_seconds)
        status, cpu_after = read_proc(daemon.pid)
        daemon.terminate()
        daemon.wait(timeout=10)

        print()
        print("batchgate daemon benchmark (release build, fsync %s, %d cores)" % ("on" if fsync else "off", os.cpu_count()))
        print("  floor  rename %d files, nothing else:   %7.3f s  %9.0f files/s" % (args.burst, floor, args.burst / floor))
        print("  burst  %d manifests routed:             %7.3f s  %9.0f manifests/s  (target >= 2000; drop took %.3f s)"
              % (routed, burst, routed / burst, dropped))
        print("  burst / floor time ratio:                %7.1fx" % (burst / floor))
        print("  steady %d/s for %.0f s: %d of %d routed; latency p50 %.1f ms, p99 %.1f ms, max %.1f ms  (target p99 < 50)"
              % (args.rate, args.steady_seconds, len(latencies), count, percentile(latencies, 0.5),
                 percentile(latencies, 0.99), max(latencies)))
        print("  memory after the burst: VmRSS %s, VmHWM %s; after the steady run: VmRSS %s  (target < 40 MB)"
              % (rss_after_burst, hwm_after_burst, status["VmRSS"]))
        print("  idle CPU over %.0f s: %.3f s  (target: none measurable)" % (args.idle_seconds, cpu_after - cpu_before))
        if routed != args.burst or len(latencies) != count:
            sys.exit("not every file was routed")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Daemon benchmark: burst throughput beside a rename floor, on an idle and on a busy machine,
steady latency, drop-to-alert latency, memory, idle CPU.

    bench/daemon_bench.py [--burst 10000] [--rate 100] [--steady-seconds 20] [--idle-seconds 60]
                          [--alert-rate 10] [--alert-seconds 20] [--no-build] [--no-fsync]

One run, on this machine, of the release build of `batchgate run --config FILE`:
  floor   a Python loop that only renames the same files from a staging folder into another
          folder on the same filesystem: what moving the files costs at all;
  burst   the same number of manifests renamed into the inbox at once; time from the first
          rename until the last manifest sits in its outcome folder (seen through inotify);
  busy    the floor and the burst again while another process keeps one core busy (BusyCore);
  steady  one manifest every 1/RATE s; latency from the rename into the inbox to the manifest's
          arrival in its outcome folder, p50 / p99 / max;
  alert   a daemon with a webhook sink posting to a loopback receiver (WebhookReceiver); one
          needs-batch manifest every 1/ALERT_RATE s renamed into the inbox; latency from the
          rename to the POST naming it, p50 / p99 / max (a renamed file waits no quiet period);
  memory  the daemon's resident set (VmRSS) and peak (VmHWM) after the burst;
  idle    CPU time the daemon uses over IDLE seconds with nothing to do.
Targets (docs/benchmarks.md): >= 2,000 manifests/s in a burst with fsync on; p99 < 50 ms at
100/s; drop to alert p99 < 50 ms beyond the quiet period; < 40 MB resident; no measurable CPU
when idle.

This file is also the engine of bench/run_all.py: the pieces below (staging, the floor,
the daemon, the inotifywait peer, the arrival watcher, bursts, steady runs) are shared by both.
"""
import argparse
import ctypes
import http.server
import json
import os
import select
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUTCOMES = ("accepted", "needs-batch", "rejected")
IN_MOVED_TO = 0x80
IN_Q_OVERFLOW = 0x4000
IN_CLOEXEC = 0o2000000
libc = ctypes.CDLL(None, use_errno=True)
# CLOCK_MONOTONIC: one clock for every thread and process of the run.
now = time.monotonic


def manifest(number):
    """A small manifest: every tenth is not JSON (rejected), the others alternate between accepted
    (Buds from Buds) and needs-batch (Concentrate from Buds, a form change without a batch)."""
    if number % 10 == 9:
        return b"not a manifest %d\n" % number
    tag = "1A4FF0300000022%09d" % number
    category = "Concentrate" if number % 2 == 0 else "Buds"
    return ('[{"Tag": "%s", "Item": "Item %d", "ItemCategory": "%s", "Quantity": 1, "UnitOfMeasure": "Grams", '
            '"Ingredients": [{"Package": "1A4FF0100000022000000001", "Quantity": 1, "UnitOfMeasure": "Grams", '
            '"ItemCategory": "Buds"}]}]' % (tag, number, category)).encode()


def stage(folder, names, first=0, step=1):
    """Writes one manifest per name into folder (a staging folder on the inbox's filesystem): the
    n-th is manifest(first + n * step), so an even first and step 2 stage only needs-batch ones."""
    os.makedirs(folder, exist_ok=True)
    for n, name in enumerate(names):
        with open(os.path.join(folder, name), "wb") as f:
            f.write(manifest(first + n * step))


def loadavg():
    with open("/proc/loadavg") as f:
        return tuple(float(x) for x in f.read().split()[:3])


def percentile(values, fraction):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def latency_figures(latencies):
    """p50, p99 and max of latencies in ms, as a dict (empty when there are none)."""
    if not latencies:
        return {}
    return {"p50": percentile(latencies, 0.5), "p99": percentile(latencies, 0.99), "max": max(latencies)}


def manifests_in(folder):
    """The manifest names in an outcome folder: not the reports, not the dot-named drafts."""
    return [n for n in os.listdir(folder) if not n.startswith(".") and ".report." not in n]


class ArrivalWatcher:
    """Records when names are moved into some folders (inotify IN_MOVED_TO), read by a thread.

    Time of an arrival = when the read that returned its event came back (CLOCK_MONOTONIC): its
    resolution is the thread's wake-up, tens of microseconds (the latency floor measures it).
    Dot-names and reports (`*.report.*`) are not counted. `overflowed` tells that the watcher's own
    inotify queue overflowed: its counts are then incomplete and callers list the folders instead.
    """

    def __init__(self, folders, record_names=False):
        self.fd = libc.inotify_init1(IN_CLOEXEC)
        if self.fd < 0:
            raise OSError(ctypes.get_errno(), "inotify_init1")
        for folder in folders:
            if libc.inotify_add_watch(self.fd, folder.encode(), IN_MOVED_TO) < 0:
                raise OSError(ctypes.get_errno(), "inotify_add_watch " + folder)
        self.record_names = record_names
        self.arrivals = {}
        self.arrived = 0
        self.last = None
        self.overflowed = False
        self.lock = threading.Lock()
        self.stop_read, self.stop_write = os.pipe()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        poller = select.poll()
        poller.register(self.fd, select.POLLIN)
        poller.register(self.stop_read, select.POLLIN)
        unpack = struct.unpack_from
        while True:
            ready = [fd for fd, _ in poller.poll()]
            if self.stop_read in ready:
                return
            data = os.read(self.fd, 1 << 20)
            at = now()
            offset, arrived, names = 0, 0, []
            while offset + 16 <= len(data):
                _, mask, _, length = unpack("iIII", data, offset)
                name = data[offset + 16: offset + 16 + length].split(b"\0", 1)[0]
                offset += 16 + length
                if mask & IN_Q_OVERFLOW:
                    self.overflowed = True
                elif name and not name.startswith(b".") and b".report." not in name:
                    arrived += 1
                    if self.record_names:
                        names.append(name)
            if arrived:
                with self.lock:
                    self.arrived += arrived
                    self.last = at
                    for name in names:
                        self.arrivals.setdefault(name.decode(), at)

    def count(self):
        with self.lock:
            return self.arrived

    def when(self, name):
        with self.lock:
            return self.arrivals.get(name)

    def close(self):
        os.write(self.stop_write, b"x")
        self.thread.join()
        for fd in (self.fd, self.stop_read, self.stop_write):
            os.close(fd)


def read_proc(pid, children=False):
    """(/proc/PID/status as a dict, CPU seconds used: utime + stime, and with children=True also
    cutime + cstime, the time of its children that ended and were waited for)."""
    status = {}
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            key, _, value = line.partition(":")
            status[key] = value.strip()
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if children else 0)
    return status, ticks / os.sysconf("SC_CLK_TCK")


def kib(value):
    """'22912 kB' -> 22912."""
    return int(value.split()[0])


def filesystem(path):
    """(mount point, type, device, journal) of the filesystem holding path; journal is False for
    ext4 mounted without one (/sys/fs/ext4/DEV/journal_task says <none>), None when unknown."""
    path = os.path.realpath(path)
    best = ("/", "?", "?")
    with open("/proc/mounts") as f:
        for line in f:
            device, point, kind = line.split()[:3]
            if (path == point or path.startswith(point.rstrip("/") + "/")) and len(point) >= len(best[0]):
                best = (point, kind, device)
    journal = None
    task = "/sys/fs/ext4/%s/journal_task" % os.path.basename(best[2])
    if best[1] == "ext4" and os.path.exists(task):
        with open(task) as f:
            journal = f.read().strip() != "<none>"
    return best + (journal,)


# ext4 without a journal skips, when it allocates an inode, every free inode deleted less than
# 5 s ago, or 5 min ago while its inode table block is dirty (fs/ext4/ialloc.c, recently_deleted),
# one buffer lookup each: after tens of thousands of deletions in a folder's block groups, each new
# file there costs up to milliseconds. batchgate creates two report files per manifest, the floor
# and the peer only rename, so the benchmarks delete nothing until they end, and wait that long
# after the last benchmark's clean-up before measuring.
CLEANUP_MARK = os.path.join(ROOT, "bench", "out", ".cleaned-at")
RECENTLY_DELETED = 305


def cleanup(work):
    """Removes a benchmark's folder, flushes, and notes when (see RECENTLY_DELETED)."""
    shutil.rmtree(work, ignore_errors=True)
    os.sync()
    os.makedirs(os.path.dirname(CLEANUP_MARK), exist_ok=True)
    with open(CLEANUP_MARK, "w") as f:
        f.write("%f\n" % time.time())


def wait_after_cleanup(work_parent, wait=True):
    """On ext4 without a journal, waits until RECENTLY_DELETED s have passed since the last clean-up."""
    if filesystem(work_parent)[3] is not False or not os.path.exists(CLEANUP_MARK):
        return 0.0
    with open(CLEANUP_MARK) as f:
        left = RECENTLY_DELETED - (time.time() - float(f.read()))
    if left > 0 and wait:
        print("ext4 without a journal: waiting %.0f s for the files the last benchmark deleted to stop slowing "
              "the creation of new ones (see RECENTLY_DELETED in bench/daemon_bench.py; --no-wait skips)" % left,
              flush=True)
        time.sleep(left)
    return max(0.0, left)


def release_binary(build=True):
    if build:
        subprocess.run(["swift", "build", "-c", "release", "--product", "batchgate"], cwd=ROOT, check=True)
    return os.path.join(subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                                       capture_output=True, text=True).stdout.strip(), "batchgate")


class Daemon:
    """`batchgate run --config FILE` on a fresh state root under folder, logging to folder/daemon.log;
    with `webhook` (a URL), alerts go to one webhook sink there."""

    label = "batchgate"
    # The daemon's default quietPeriod: a file written in place is taken this long after its close.
    quiet_period = 2.0
    # A file renamed into the inbox is whole when it arrives (the writer contract) and is taken at
    # once, without the quiet period (IntakeTracker, `movedIn`): drop-to-alert subtracts nothing.
    rename_waits_quiet_period = False

    def __init__(self, binary, folder, fsync, webhook=None):
        self.state = os.path.join(folder, "state")
        self.log_path = os.path.join(folder, "daemon.log")
        config = os.path.join(folder, "batchgate.yaml")
        with open(config, "w") as f:
            f.write("stateRoot: %s\nfsync: %s\n" % (self.state, "true" if fsync else "false"))
            if webhook:
                # The sink's defaults: decisions needs-batch and rejected, no rate limit, no digest.
                f.write("alerts:\n  sinks:\n    - name: bench-webhook\n      type: webhook\n      url: %s\n" % webhook)
        self.fsync = fsync
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen([binary, "run", "--config", config], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=self.log)
        self.pid = self.process.pid
        deadline = time.time() + 30
        while "watching" not in self.log_text():
            if self.process.poll() is not None or time.time() > deadline:
                self.stop()
                sys.exit("the daemon did not start:\n" + self.log_text())
            time.sleep(0.01)
        self.inbox = os.path.join(self.state, "inbox")
        self.outcome_folders = [os.path.join(self.state, d) for d in OUTCOMES]

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def overflows(self):
        return sum("inotify queue overflowed" in line for line in self.log_text().splitlines())

    def routed(self):
        return [n for folder in self.outcome_folders for n in manifests_in(folder)]

    def left(self):
        """Manifests still in inbox/ or processing/ (not the journals)."""
        return [n for d in ("inbox", "processing") for n in os.listdir(os.path.join(self.state, d))
                if not n.startswith(".")]

    def memory(self):
        status, _ = read_proc(self.pid)
        return kib(status["VmRSS"]), kib(status["VmHWM"])

    def cpu(self):
        return read_proc(self.pid)[1]

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()


# The usual hand-made drop folder: inotifywait piped into a shell loop moving each file.
PEER_LOOP = 'inotifywait -m -q -e close_write,moved_to --format \'%f\' "$1" | while read -r f; do mv -- "$1/$f" "$2"/; done'
# The same loop alerting too: after each move, curl posts {"file": NAME} to the URL in $3.
PEER_ALERT_LOOP = PEER_LOOP.replace(
    '"$2"/;', '"$2"/ && curl -s -o /dev/null -H \'Content-Type: application/json\' --data-binary "{\\"file\\": \\"$f\\"}" "$3";')


class Peer:
    """PEER_LOOP (or `loop`, given `extra` arguments after the two folders) on folder/inbox moving
    into folder/out, in its own process group."""

    label = "peer"

    def __init__(self, folder, loop=PEER_LOOP, extra=()):
        self.inbox = os.path.join(folder, "inbox")
        self.out = os.path.join(folder, "out")
        os.makedirs(self.inbox)
        os.makedirs(self.out)
        self.outcome_folders = [self.out]
        self.errors = open(os.path.join(folder, "peer.err"), "w")
        self.process = subprocess.Popen(["bash", "-c", loop, "peer", self.inbox, self.out, *extra], stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=self.errors, start_new_session=True)
        self.pid = self.process.pid
        # With -q inotifywait says nothing once its watch is set: a probe file, written and closed
        # again every 0.1 s until it shows up moved, tells when the loop moves files.
        probe, moved = os.path.join(self.inbox, "peer-probe"), os.path.join(self.out, "peer-probe")
        deadline = time.time() + 30
        while not os.path.exists(moved):
            if time.time() > deadline:
                self.stop()
                sys.exit("the inotifywait peer did not start")
            with open(probe, "a") as f:
                f.write("probe\n")
            time.sleep(0.1)
        time.sleep(0.2)  # a close event still queued moves nothing or a second probe: both removed
        for path in (probe, moved):
            if os.path.exists(path):
                os.unlink(path)

    def processes(self):
        """The pids of the peer's process group (bash, inotifywait, the loop's subshell, any mv)."""
        pids = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open("/proc/%s/stat" % entry) as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                except OSError:
                    continue
                if int(fields[2]) == self.pid:
                    pids.append(int(entry))
        return pids

    def routed(self):
        return manifests_in(self.out)

    def left(self):
        return [n for n in os.listdir(self.inbox) if not n.startswith(".")]

    def memory(self):
        """Summed VmRSS and VmHWM of the group's processes."""
        rss = hwm = 0
        for pid in self.processes():
            try:
                status, _ = read_proc(pid)
                rss, hwm = rss + kib(status.get("VmRSS", "0 kB")), hwm + kib(status.get("VmHWM", "0 kB"))
            except (OSError, ValueError):
                pass
        return rss, hwm

    def cpu(self):
        """CPU seconds of the group, the mv processes that ended included (through cutime)."""
        total = 0.0
        for pid in self.processes():
            try:
                total += read_proc(pid, children=True)[1]
            except (OSError, ValueError):
                pass
        return total

    def stop(self):
        if self.process.poll() is None:
            os.killpg(self.pid, signal.SIGTERM)
            self.process.wait(timeout=30)
        self.errors.close()


def rename_all(staging, target, names):
    """The floor, and every drop: rename each name from staging into target. Returns (start, end)."""
    start = now()
    for name in names:
        os.rename(os.path.join(staging, name), os.path.join(target, name))
    return start, now()


def floor_burst(folder, names):
    """Renames the staged files into another folder and nothing else; the time of the loop."""
    staging, target = os.path.join(folder, "staging"), os.path.join(folder, "floor")
    stage(staging, names)
    os.makedirs(target)
    os.sync()
    cpu = time.process_time()
    start, end = rename_all(staging, target, names)
    cpu = time.process_time() - cpu
    moved = len(os.listdir(target))
    return {"seconds": end - start, "moved": moved, "count": len(names), "rate": len(names) / (end - start),
            "cpu": cpu}


def wait_for(system, watcher, expected, stall):
    """Waits until `expected` manifests arrived, or none arrived for `stall` seconds. Returns the
    time of the last arrival and how it was seen ('inotify', or 'listing' every 0.25 s when the
    watcher's own queue overflowed)."""
    seen, changed = -1, time.time()
    while True:
        if watcher.overflowed:
            break
        count = watcher.count()
        if count != seen:
            seen, changed = count, time.time()
        if count >= expected or time.time() - changed > stall:
            return watcher.last, "inotify"
        time.sleep(0.01)
    last = None
    while True:
        count = len(system.routed())
        if count != seen:
            seen, changed, last = count, time.time(), now()
        if count >= expected or time.time() - changed > stall:
            return last, "listing"
        time.sleep(0.25)


def burst(system, folder, names, stall, paused=False):
    """Drops the staged names into system's inbox at once; waits; counts by listing. paused=True
    stops the daemon (SIGSTOP) during the drop, so that its inotify queue overflows, and lets it go
    on (SIGCONT) once every file is in the inbox."""
    staging = os.path.join(folder, "staging")
    os.sync()  # the staging writes must not be flushed by the run measured
    watcher = ArrivalWatcher(system.outcome_folders)
    hwm_before = system.memory()[1]
    cpu = system.cpu()
    if paused:
        os.kill(system.pid, signal.SIGSTOP)
    start, dropped = rename_all(staging, system.inbox, names)
    if paused:
        os.kill(system.pid, signal.SIGCONT)
    last, method = wait_for(system, watcher, len(names), stall)
    cpu = system.cpu() - cpu
    watcher.close()
    routed = system.routed()
    rss, hwm = system.memory()
    seconds = (last - start) if last else float("nan")
    return {"count": len(names), "seconds": seconds, "rate": len(routed) / seconds if last else 0.0,
            "drop_seconds": dropped - start, "routed": len(routed), "unique": len(set(routed)),
            "exact": set(routed) == set(names), "left": len(system.left()), "cpu": cpu,
            "rss_kib": rss, "hwm_kib": hwm, "hwm_before_kib": hwm_before, "timing": method}


def paced_drops(staging, target, names, rate, in_place=False):
    """Drops one staged name every 1/rate s into target; returns {name: monotonic time of its drop}:
    just before its rename, or with in_place, when it was written into target (open, write, close,
    as cp does) and closed."""
    drops = {}
    start = now()
    for n, name in enumerate(names):
        delay = start + n / rate - now()
        if delay > 0:
            time.sleep(delay)
        if in_place:
            with open(os.path.join(staging, name), "rb") as f:
                body = f.read()
            with open(os.path.join(target, name), "wb") as f:
                f.write(body)
            drops[name] = now()
        else:
            drops[name] = now()
            os.rename(os.path.join(staging, name), os.path.join(target, name))
    return drops


def wait_until_all(count, expected, stall, broken=lambda: False):
    """Waits until count() reaches expected, nothing new came for stall seconds, or broken()."""
    seen, changed = -1, time.time()
    while count() < expected and time.time() - changed < stall and not broken():
        if count() != seen:
            seen, changed = count(), time.time()
        time.sleep(0.01)


def steady(system, folder, rate, seconds, first=100_000, in_place=False, prefix="steady"):
    """One staged manifest every 1/rate s into system's inbox; latency from just before each rename
    to its arrival in an outcome folder. system None is the floor: renames straight into a watched
    folder, so the figure is the rename plus the watcher's wake-up. With in_place, each manifest is
    written into the inbox (open, write, close, as cp does) instead, and the latency counts from its
    close: it includes the daemon's quiet period, which the caller subtracts."""
    count = int(rate * seconds)
    names = ["%s-%05d.json" % (prefix, n) for n in range(count)]
    staging = os.path.join(folder, prefix + "-staging")
    stage(staging, names, first)
    if system is None:
        target = os.path.join(folder, "steady-floor")
        os.makedirs(target)
        folders = [target]
    else:
        target, folders = system.inbox, system.outcome_folders
    os.sync()
    watcher = ArrivalWatcher(folders, record_names=True)
    drops = paced_drops(staging, target, names, rate, in_place)
    wait_until_all(watcher.count, count, 10, lambda: watcher.overflowed)
    watcher.close()
    latencies = [(watcher.when(name) - drops[name]) * 1000 for name in names if watcher.when(name) is not None]
    return dict(latency_figures(latencies), count=count, arrived=len(latencies), rate=rate, seconds=seconds)


class WebhookReceiver:
    """A loopback HTTP receiver of alerts: notes when each POST's body has been read (CLOCK_MONOTONIC)
    under the manifest its `file` names (the webhook's member; the peer posts the same), answers
    200, and counts every POST, so that a repeat shows."""

    def __init__(self):
        self.arrivals = {}
        self.posts = 0
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                at = now()
                try:
                    name = os.path.basename(json.loads(body).get("file") or "")
                except (ValueError, AttributeError):
                    name = ""
                with receiver.lock:
                    receiver.posts += 1
                    if name:
                        receiver.arrivals.setdefault(name, at)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *_):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/alerts" % self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def when(self, name):
        with self.lock:
            return self.arrivals.get(name)

    def count(self, names):
        with self.lock:
            return sum(name in self.arrivals for name in names)

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def drop_to_alert(make_system, folder, rate, seconds, prefix="alert"):
    """One needs-batch manifest every 1/rate s renamed into the inbox of make_system(folder, url), a
    daemon or peer alerting to a fresh WebhookReceiver; latency from just before each rename to the
    arrival of the POST naming it. Only needs-batch manifests are dropped, so that a sink with the
    default decisions (needs-batch, rejected) alerts each one. Returns the figures in ms, and how
    many alerts arrived and how many POSTs came (more than the alerts: a repeat)."""
    count = int(rate * seconds)
    names = ["%s-%05d.json" % (prefix, n) for n in range(count)]
    staging = os.path.join(folder, prefix + "-staging")
    stage(staging, names, first=300_000, step=2)
    receiver = WebhookReceiver()
    try:
        system = make_system(folder, receiver.url)
        try:
            os.sync()
            posts_before = receiver.posts  # a peer's start-up probe
            drops = paced_drops(staging, system.inbox, names, rate)
            wait_until_all(lambda: receiver.count(names), count, 10)
            rss_kib, hwm_kib = system.memory()
        finally:
            system.stop()
        latencies = [(receiver.when(name) - drops[name]) * 1000 for name in names if receiver.when(name) is not None]
        posts = receiver.posts - posts_before
    finally:
        receiver.close()
    return dict(latency_figures(latencies), count=count, arrived=len(latencies), posts=posts, rate=rate,
                seconds=seconds, rss_kib=rss_kib, hwm_kib=hwm_kib)


class BusyCore:
    """Another process keeping one core busy while the runs inside `with` go: a Python loop pinned
    with taskset to the last core. `share()` is the part of a core it got (near 1.0: it was busy)."""

    def __init__(self, core=None):
        self.core = os.cpu_count() - 1 if core is None else core

    def __enter__(self):
        self.process = subprocess.Popen(["taskset", "-c", str(self.core), sys.executable, "-c", "while True: pass"],
                                        stdin=subprocess.DEVNULL)
        time.sleep(0.2)  # past the interpreter's start
        self.started, self.cpu = now(), read_proc(self.process.pid)[1]
        return self

    def share(self):
        return (read_proc(self.process.pid)[1] - self.cpu) / (now() - self.started)

    def __exit__(self, *_):
        self.process.terminate()
        self.process.wait()


def busy_burst(binary, folder, names, fsync=False):
    """The floor and a fresh daemon's burst of the same names, both while BusyCore keeps one core
    busy. Returns (floor, burst with the daemon's overflow lines, the share of its core the busy
    process got over both)."""
    daemon_folder = os.path.join(folder, "daemon")
    stage(os.path.join(daemon_folder, "staging"), names)
    with BusyCore() as busy:
        floor = floor_burst(os.path.join(folder, "floor"), names)
        daemon = Daemon(binary, daemon_folder, fsync)
        try:
            run = burst(daemon, daemon_folder, names, stall=60)
            run["overflows"] = daemon.overflows()
        finally:
            daemon.stop()
        share = busy.share()
    return floor, run, share


def idle(systems, seconds):
    """CPU seconds each system uses over `seconds` with nothing to do (measured side by side)."""
    time.sleep(1)
    before = [s.cpu() for s in systems]
    time.sleep(seconds)
    return [s.cpu() - b for s, b in zip(systems, before)]


def main():
    parser = argparse.ArgumentParser(description="batchgate daemon benchmark")
    parser.add_argument("--burst", type=int, default=10_000)
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--steady-seconds", type=float, default=20)
    parser.add_argument("--idle-seconds", type=float, default=60)
    parser.add_argument("--alert-rate", type=float, default=10)
    parser.add_argument("--alert-seconds", type=float, default=20)
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--no-fsync", action="store_true")
    parser.add_argument("--no-wait", action="store_true", help="do not wait after an earlier benchmark's clean-up")
    args = parser.parse_args()
    fsync = not args.no_fsync
    binary = release_binary(build=not args.no_build)

    wait_after_cleanup(os.path.join(ROOT, "bench"), wait=not args.no_wait)
    work = tempfile.mkdtemp(prefix="batchgate-bench-", dir=os.path.join(ROOT, "bench"))
    try:
        names = ["burst-%05d.json" % n for n in range(args.burst)]
        floor = floor_burst(os.path.join(work, "floor"), names)
        folder = os.path.join(work, "daemon")
        os.makedirs(folder)
        stage(os.path.join(folder, "staging"), names)
        daemon = Daemon(binary, folder, fsync)
        try:
            b = burst(daemon, folder, names, stall=60)
            s = steady(daemon, folder, args.rate, args.steady_seconds)
            # Written in place at 10 a second: what the quiet period costs, and what comes after it.
            w = steady(daemon, folder, 10, args.steady_seconds, first=200_000, in_place=True, prefix="in-place")
            cpu = idle([daemon], args.idle_seconds)[0]
            rss_after, _ = daemon.memory()
        finally:
            daemon.stop()
        busy_floor, busy, share = busy_burst(binary, os.path.join(work, "busy"), names, fsync)
        alert_floor = steady(None, os.path.join(work, "alert-floor"), args.alert_rate, args.alert_seconds)
        a = drop_to_alert(lambda f, url: Daemon(binary, f, fsync, webhook=url), os.path.join(work, "alert"),
                          args.alert_rate, args.alert_seconds)

        print()
        print("batchgate daemon benchmark (release build, fsync %s, %d cores)" % ("on" if fsync else "off", os.cpu_count()))
        print("  floor  rename %d files, nothing else:   %7.3f s  %9.0f files/s"
              % (args.burst, floor["seconds"], floor["rate"]))
        print("  burst  %d manifests routed:             %7.3f s  %9.0f manifests/s  (target >= 2000; drop took %.3f s)"
              % (b["routed"], b["seconds"], b["rate"], b["drop_seconds"]))
        print("  burst / floor time ratio:                %7.1fx  (target <= 3x with fsync off); CPU %.0f us/file, "
              "the floor's %.0f us/file" % (b["seconds"] / floor["seconds"], b["cpu"] / args.burst * 1e6,
                                            floor["cpu"] / args.burst * 1e6))
        print("  busy: another process kept %.0f%% of a core: floor %.3f s, burst %.3f s, ratio %.1fx  (target <= 5x "
              "with fsync off); CPU %.0f us/file, the floor's %.0f us/file"
              % (share * 100, busy_floor["seconds"], busy["seconds"], busy["seconds"] / busy_floor["seconds"],
                 busy["cpu"] / args.burst * 1e6, busy_floor["cpu"] / args.burst * 1e6))
        print("  steady %d/s for %.0f s: %d of %d routed; latency p50 %.1f ms, p99 %.1f ms, max %.1f ms  (target p99 < 50)"
              % (args.rate, args.steady_seconds, s["arrived"], s["count"], s.get("p50", float("nan")),
                 s.get("p99", float("nan")), s.get("max", float("nan"))))
        quiet = Daemon.quiet_period * 1000
        print("  written in place 10/s for %.0f s: %d of %d routed; latency beyond the %.0f ms quiet period p50 %.1f ms, p99 %.1f ms, max %.1f ms  (target p99 < 50)"
              % (args.steady_seconds, w["arrived"], w["count"], quiet, w.get("p50", float("nan")) - quiet,
                 w.get("p99", float("nan")) - quiet, w.get("max", float("nan")) - quiet))
        print("  drop to alert %g/s for %.0f s (webhook on loopback; a renamed file waits no quiet period): %d of %d "
              "alerts arrived (%d POSTs); p50 %.1f ms, p99 %.1f ms, max %.1f ms  (target p99 < 50); floor (rename "
              "into a watched folder) p50 %.2f ms, p99 %.2f ms"
              % (args.alert_rate, args.alert_seconds, a["arrived"], a["count"], a["posts"], a.get("p50", float("nan")),
                 a.get("p99", float("nan")), a.get("max", float("nan")), alert_floor["p50"], alert_floor["p99"]))
        print("  memory after the burst: VmRSS %.1f MB, VmHWM %.1f MB; after the steady run: VmRSS %.1f MB  (target < 40 MB)"
              % (b["rss_kib"] / 1024, b["hwm_kib"] / 1024, rss_after / 1024))
        print("  idle CPU over %.0f s: %.3f s  (target: none measurable)" % (args.idle_seconds, cpu))
        if (not b["exact"] or b["left"] or not busy["exact"] or busy["left"] or s["arrived"] != s["count"]
                or w["arrived"] != w["count"]):
            sys.exit("not every file was routed")
        if a["arrived"] != a["count"]:
            sys.exit("not every alert arrived")
    finally:
        cleanup(work)


if __name__ == "__main__":
    main()

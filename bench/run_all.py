#!/usr/bin/env python3
"""Every benchmark in one run, each beside a floor and a peer measured in the same run.

    bench/run_all.py [--quick] [--no-build] [--bursts 10000,50000] [--rate 100] [--steady-seconds 20]
                     [--idle-seconds 60] [--alert-rate 10] [--alert-seconds 20]
                     [--check-count 10000] [--check-rounds 3]
                     [--markdown FILE] [--json FILE] [--keep] [--no-wait]

  (a) check     `batchgate check --format json` over the seeded corpus (bench/check_throughput.py),
                pinned to one core, best of --check-rounds; floor: `cat` of every file; peer:
                bench/check_peer.py, the contract's rules in one Python process, whose decisions must
                agree with check's on every file; beside them batchgate's own parse-only pass
                (`batchgate-bench parse`) and the Python json/csv parse with no rules.
  (b) bursts    for each size: the files renamed into the inbox at once, timed from the first rename
                to the last manifest seen arriving in an outcome folder (inotify; by listing when the
                bench's own queue overflows). batchgate with fsync off and on, each a fresh daemon
                (`batchgate run --config`, defaults but fsync); floor: a Python loop that only renames
                the same files into another folder; peer: `inotifywait -m -e close_write,moved_to`
                piped into a bash loop that moves each file. Every run is counted by listing the
                outcome folders; whether the daemon's inotify queue overflowed comes from its log.
                For the largest size one more daemon is stopped (SIGSTOP) during the drop, so that
                its queue overflows for sure (when the burst is larger than the queue). For the
                smallest size, the floor and batchgate with fsync off again while another process
                keeps one core busy (a Python loop pinned with taskset to the last core, started
                before that floor and stopped after that daemon). CPU per file: the daemon's
                utime+stime over the burst (the floor's: its loop's) divided by the files.
                Beside the smallest size, bench/protocol_floor.c (built with cc, skipped without
                one): the system calls of routing as many files replayed in C, with no inotify or
                evaluation: a rename loop, the contract's minimum (read, two reports, move) and the
                daemon's own protocol (lease ask, claim, look-ups, stamp check), the last two in
                one thread and in as many as the daemon's routing workers.
  (c) steady    one file every 1/--rate s for --steady-seconds; latency from just before the rename
                into the inbox to the arrival event in the outcome folder (p50, p99, max); floor: the
                same renames straight into a watched folder (the rename plus the watcher's wake-up).
  (d) memory    VmHWM after the largest burst (the peer: its bash, inotifywait and loop summed);
      idle CPU  utime+stime of batchgate (fsync on) and of the peer side by side over --idle-seconds.
  (e) drop to alert  a fresh daemon with one webhook sink (its defaults: needs-batch and rejected,
                no rate limit) posting to a loopback receiver in this process; one needs-batch
                manifest every 1/--alert-rate s renamed into the inbox for --alert-seconds; latency
                from just before the rename to the POST naming it having been read (p50, p99, max),
                fsync off and on. A renamed file waits no quiet period (only one written in place
                does), so nothing is subtracted. Floor: the steady floor's renames into a watched
                folder at that rate; peer: the inotifywait loop moving each file and posting
                {"file": NAME} with curl to the same receiver.

Targets: check at least 5 times the rules peer, within 2 times its parse-only pass, under 50 MB,
agreeing with the peer on every file; batchgate with fsync off at least 10 times the peer's burst
throughput and within 3 times of the floor (floor rate / batchgate rate <= 3), and within 5 times of
the floor measured while a core is kept busy; every file routed in every run; drop to alert p99
under 50 ms beyond the quiet period, every alert arriving.
Exit status 1 when a target is missed or a file is lost, 2 when the peer's tools (inotifywait, curl)
are missing.
--quick (2,000/5,000 files, 10 s steady, 10 s idle, 5 s of alerts, 2,000 manifests for check) is a
smoke test.
Nothing is deleted until the end, and on ext4 without a journal the run first waits until 5 minutes
have passed since the last benchmark's clean-up (see RECENTLY_DELETED in daemon_bench.py).
"""
import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in bench/
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_throughput  # noqa: E402
import daemon_bench as engine  # noqa: E402

ROOT = engine.ROOT


def need_peer_tools():
    missing = [tool for tool in ("inotifywait", "curl") if not shutil.which(tool)]
    if not missing:
        return
    sys.stderr.write("bench/run_all.py: the peer needs inotifywait and curl; not installed: %s.\n"
                     "Install them with: apt-get install inotify-tools curl   (or: make bench-deps)\n" % ", ".join(missing))
    sys.exit(2)


def log(message):
    print("[%s load %.2f] %s" % (time.strftime("%H:%M:%S"), engine.loadavg()[0], message), flush=True)


def fresh(work, name):
    folder = os.path.join(work, name)
    os.makedirs(folder)
    return folder


def run_bursts(binary, work, sizes, results):
    for size in sizes:
        names = ["burst-%06d.json" % n for n in range(size)]
        runs = results.setdefault("bursts", {}).setdefault(str(size), {})

        folder = fresh(work, "floor-%d" % size)
        load = engine.loadavg()
        runs["floor"] = dict(engine.floor_burst(folder, names), load=load)
        log("burst %d floor: %.3f s, %.0f files/s" % (size, runs["floor"]["seconds"], runs["floor"]["rate"]))

        for fsync in (False, True):
            key = "batchgate_fsync_" + ("on" if fsync else "off")
            folder = fresh(work, "%s-%d" % (key, size))
            engine.stage(os.path.join(folder, "staging"), names)
            daemon = engine.Daemon(binary, folder, fsync)
            try:
                load = engine.loadavg()
                run = engine.burst(daemon, folder, names, stall=60)
                run.update(load=load, overflows=daemon.overflows())
            finally:
                daemon.stop()
            runs[key] = run
            log("burst %d %s: %.3f s, %.0f/s, routed %d of %d, %d left, inotify overflow lines %d, CPU %.0f us/file"
                % (size, key, run["seconds"], run["rate"], run["routed"], size, run["left"], run["overflows"],
                   run["cpu"] / size * 1e6))

        if size == min(sizes):
            # The same again while another process keeps one core busy, the floor included.
            load = engine.loadavg()
            floor, run, share = engine.busy_burst(binary, fresh(work, "busy-%d" % size), names)
            runs["floor_busy"] = dict(floor, load=load)
            runs["batchgate_fsync_off_busy"] = dict(run, load=load, busy_share=share)
            log("burst %d with a core kept busy (%.0f%% of it): floor %.3f s, CPU %.0f us/file; batchgate fsync off "
                "%.3f s, routed %d of %d, %d left, CPU %.0f us/file"
                % (size, share * 100, floor["seconds"], floor["cpu"] / size * 1e6, run["seconds"], run["routed"], size,
                   run["left"], run["cpu"] / size * 1e6))

            # What the kernel alone costs for routing the same number of files, beside the floor the
            # burst target is set against: how much of that target any daemon keeping the contract spends.
            load = engine.loadavg()
            replay = protocol_floor(fresh(work, "protocol-%d" % size), size)
            if replay:
                results.setdefault("protocol_floor", {})[str(size)] = dict(replay, load=load)
                log("burst %d system calls alone: %s" % (size, ", ".join(
                    "%s %.3f s (%d thread%s, CPU %.0f us/file)" % (name, loop["seconds"], loop["threads"],
                                                                   "" if loop["threads"] == 1 else "s",
                                                                   loop["cpu_per_file"] * 1e6)
                    for name, loop in replay.items() if isinstance(loop, dict))))

        if size == max(sizes):
            # The daemon stopped (SIGSTOP) while the files land, as behind a stalled disk: its
            # inotify queue overflows for sure, and the rescan must still route every file.
            key = "batchgate_fsync_off_paused"
            folder = fresh(work, "%s-%d" % (key, size))
            engine.stage(os.path.join(folder, "staging"), names)
            daemon = engine.Daemon(binary, folder, False)
            try:
                load = engine.loadavg()
                run = engine.burst(daemon, folder, names, stall=60, paused=True)
                run.update(load=load, overflows=daemon.overflows())
            finally:
                daemon.stop()
            runs[key] = run
            log("burst %d %s: %.3f s after the drop began (%.3f s paused), routed %d of %d, %d left, "
                "inotify overflow lines %d" % (size, key, run["seconds"], run["drop_seconds"], run["routed"], size,
                                               run["left"], run["overflows"]))

        folder = fresh(work, "peer-%d" % size)
        engine.stage(os.path.join(folder, "staging"), names)
        peer = engine.Peer(folder)
        try:
            load = engine.loadavg()
            # The peer is done when nothing arrived for 5 s: what it has not moved by then it lost.
            run = engine.burst(peer, folder, names, stall=5)
            run["load"] = load
        finally:
            peer.stop()
        runs["peer"] = run
        log("burst %d peer: %.3f s, %.0f/s, moved %d of %d, %d left in its inbox"
            % (size, run["seconds"], run["rate"], run["routed"], size, run["left"]))


def protocol_floor(folder, count):
    """bench/protocol_floor.c built and run over `count` files in `folder`: its loops' figures
    (rename, minimum, protocol, and the last two in parallel), or None without a C compiler or
    when it fails (said in the log: the rest of the run goes on)."""
    compiler = shutil.which("cc")
    if not compiler:
        log("protocol floor skipped: no C compiler (cc)")
        return None
    binary = os.path.join(folder, "protocol_floor")
    try:
        subprocess.run([compiler, "-O2", "-pthread", "-o", binary, os.path.join(ROOT, "bench", "protocol_floor.c")],
                       check=True, capture_output=True, text=True, timeout=120)
        output = subprocess.run([binary, fresh(folder, "files"), str(count), "--json"], check=True,
                                capture_output=True, text=True, timeout=600).stdout
        return json.loads(output)
    except (OSError, ValueError, subprocess.SubprocessError) as error:
        log("protocol floor skipped: %s %s" % (error, getattr(error, "stderr", "") or ""))
        return None


def run_steady_and_idle(binary, work, rate, seconds, idle_seconds, results):
    steady = results["steady"] = {}
    folder = fresh(work, "steady-floor")
    steady["floor"] = dict(engine.steady(None, folder, rate, seconds), load=engine.loadavg())
    log("steady floor: p50 %.2f ms, p99 %.2f ms" % (steady["floor"]["p50"], steady["floor"]["p99"]))
    kept = []
    try:
        for key, make in (("batchgate_fsync_off", lambda f: engine.Daemon(binary, f, False)),
                          ("batchgate_fsync_on", lambda f: engine.Daemon(binary, f, True)),
                          ("peer", lambda f: engine.Peer(f))):
            folder = fresh(work, "steady-" + key)
            system = make(folder)
            load = engine.loadavg()
            run = engine.steady(system, folder, rate, seconds)
            run["load"] = load
            run["rss_kib"], run["hwm_kib"] = system.memory()
            steady[key] = run
            log("steady %s: %d of %d arrived, p50 %.2f ms, p99 %.2f ms, max %.2f ms"
                % (key, run["arrived"], run["count"], run.get("p50", float("nan")), run.get("p99", float("nan")),
                   run.get("max", float("nan"))))
            if key == "batchgate_fsync_off":
                system.stop()
            else:
                kept.append((key, system))
        load = engine.loadavg()
        used = engine.idle([system for _, system in kept], idle_seconds)
        results["idle"] = {key: cpu for (key, _), cpu in zip(kept, used)}
        results["idle"].update(seconds=idle_seconds, load=load)
        log("idle over %.0f s: %s" % (idle_seconds, ", ".join("%s %.3f s CPU" % (k, c) for (k, _), c in zip(kept, used))))
    finally:
        for _, system in kept:
            system.stop()


def run_drop_to_alert(binary, work, rate, seconds, results):
    alert = results["alert"] = {}
    alert["floor"] = dict(engine.steady(None, fresh(work, "alert-floor"), rate, seconds), load=engine.loadavg())
    log("drop to alert floor: p50 %.2f ms, p99 %.2f ms" % (alert["floor"]["p50"], alert["floor"]["p99"]))
    for key, make in (("batchgate_fsync_off", lambda f, url: engine.Daemon(binary, f, False, webhook=url)),
                      ("batchgate_fsync_on", lambda f, url: engine.Daemon(binary, f, True, webhook=url)),
                      ("peer", lambda f, url: engine.Peer(f, engine.PEER_ALERT_LOOP, (url,)))):
        load = engine.loadavg()
        run = alert[key] = dict(engine.drop_to_alert(make, fresh(work, "alert-" + key), rate, seconds), load=load)
        log("drop to alert %s: %d of %d alerts arrived (%d POSTs), p50 %.2f ms, p99 %.2f ms, max %.2f ms"
            % (key, run["arrived"], run["count"], run["posts"], run.get("p50", float("nan")),
               run.get("p99", float("nan")), run.get("max", float("nan"))))


# MARK: the table

def num(value, digits=0):
    return "{:,.{}f}".format(value, digits)


def ratio(value):
    return "%.1f×" % value if value == value and value not in (float("inf"),) else "—"


def verdict(ok):
    return "PASS" if ok else "FAIL"


# Targets of a burst with fsync off, in times the rename floor measured in the same conditions: on
# an idle machine, and while another process keeps one core busy.
FLOOR_TARGET = 3
FLOOR_TARGET_BUSY = 5
# Drop to alert: p99 beyond the intake's quiet period.
ALERT_P99_TARGET_MS = 50


def routed_all(run):
    return run["exact"] and run["routed"] == run["count"] and run["left"] == 0


def floor_text(floor):
    return "%s/s, %.2f s; CPU %s µs/file" % (num(floor["rate"]), floor["seconds"], num(floor["cpu"] / floor["count"] * 1e6))


def burst_text(run):
    overflow = "inotify overflow: %s" % ("yes (%d)" % run["overflows"] if run["overflows"] else "no")
    return "%s/s, %.2f s, routed %s of %s; %s; CPU %s µs/file" % (
        num(run["rate"]), run["seconds"], num(run["routed"]), num(run["count"]), overflow, num(run["cpu"] / run["count"] * 1e6))


def latency_text(run, unit="routed"):
    text = "%.2f / %.2f ms (%.1f)" % (run["p50"], run["p99"], run["max"]) if "p50" in run else "none arrived"
    return text + ("; %d of %d %s" % (run["arrived"], run["count"], unit) if unit else "")


def table(results):
    """Rows of (measurement, batchgate, floor, peer, vs floor, vs peer, targets) and the verdicts."""
    rows, verdicts = [], []
    c = results["check"]
    check_verdicts = check_throughput.verdicts(c)
    verdicts += [(description, ok) for _, description, ok in check_verdicts]
    met = {target: verdict(ok) for target, _, ok in check_verdicts}

    def cpu_and_wall(a, b):
        wall, cpu = check_throughput.ratios(c, a, b)
        return "%s (CPU; wall %s)" % (ratio(cpu), ratio(wall))

    def rate(name):
        return "%s/s, %.2f s; CPU %s µs/file" % (num(c["count"] / c[name]), c[name],
                                                 num(c[name + "_cpu"] / c["count"] * 1e6))
    rows.append(("(a) check, %s manifests (%.0f MB), 1 core" % (num(c["count"]), c["bytes"] / 1e6),
                 rate("check"), "%s files/s (cat)" % num(c["count"] / c["floor"]),
                 "%s (Python, the contract's rules: bench/check_peer.py); agrees on %s of %s files"
                 % (rate("peer_rules"), num(c["count"] - c["disagreements"]), num(c["count"])),
                 ratio(c["check"] / c["floor"]), cpu_and_wall("peer_rules", "check"),
                 "≥ 5× peer %s; agreement %s; ≥ 5,000/s %s" % (met["peer"], met["agreement"], met["rate"])))
    rows.append(("(a) check beside parsing alone, %s manifests, 1 core" % num(c["count"]), rate("check"),
                 "%s (batchgate's parse-only pass)" % rate("parse"),
                 "%s (Python json/csv parse, no rules)" % rate("peer_parse"),
                 cpu_and_wall("check", "parse"),
                 ratio(c["peer_parse"] / c["check"]),
                 "≤ 2× parse-only %s" % met["parse"]))
    for size, runs in results["bursts"].items():
        floor, peer = runs["floor"], runs["peer"]
        peer_text = "%s/s, %.2f s, moved %s of %s" % (num(peer["rate"]), peer["seconds"], num(peer["routed"]),
                                                       num(peer["count"]))
        if peer["routed"] != peer["count"]:
            peer_text += " (**lost %s**, left in its inbox)" % num(peer["count"] - peer["routed"])
        peer_text += "; CPU %s µs/file moved" % num(peer["cpu"] / max(1, peer["routed"]) * 1e6)
        within = "≤ %d× floor" % FLOOR_TARGET
        for key, label in (("batchgate_fsync_off", "fsync off"), ("batchgate_fsync_on", "fsync on")):
            run = runs[key]
            routed_ok = routed_all(run)
            vs_floor, vs_peer = floor["rate"] / run["rate"], run["rate"] / peer["rate"]
            if key == "batchgate_fsync_off":
                checks = [("≥ 10× peer", vs_peer >= 10), (within, vs_floor <= FLOOR_TARGET), ("all routed", routed_ok)]
                verdicts += [("burst %s %s: %s" % (num(int(size)), label, name), ok) for name, ok in checks]
                targets = "; ".join("%s %s" % (name, verdict(ok)) for name, ok in checks)
            else:
                verdicts.append(("burst %s %s: all routed" % (num(int(size)), label), routed_ok))
                targets = "all routed %s; (info: ≥ 10× peer %s, %s %s)" % (
                    verdict(routed_ok), "yes" if vs_peer >= 10 else "no", within, "yes" if vs_floor <= FLOOR_TARGET else "no")
            rows.append(("(b) burst %s, %s" % (num(int(size)), label), burst_text(run), floor_text(floor), peer_text,
                         ratio(vs_floor), ratio(vs_peer), targets))
        if "batchgate_fsync_off_busy" in runs:
            run, busy_floor = runs["batchgate_fsync_off_busy"], runs["floor_busy"]
            vs_floor = busy_floor["rate"] / run["rate"]
            checks = [("≤ %d× floor" % FLOOR_TARGET_BUSY, vs_floor <= FLOOR_TARGET_BUSY), ("all routed", routed_all(run))]
            verdicts += [("burst %s fsync off, a core kept busy: %s" % (num(int(size)), name), ok) for name, ok in checks]
            rows.append(("(b) burst %s, fsync off, another process keeping one core busy (%.0f%% of it)"
                         % (num(int(size)), run["busy_share"] * 100),
                         burst_text(run), floor_text(busy_floor) + " (the same core kept busy)", "—",
                         ratio(vs_floor), "—", "; ".join("%s %s" % (name, verdict(ok)) for name, ok in checks)))
        if size in results.get("protocol_floor", {}):
            replay = results["protocol_floor"][size]

            def replayed(name):
                loop = replay.get(name)
                if not loop:
                    return None
                return ("%d thread%s %.2f s, CPU %s µs/file" % (loop["threads"], "" if loop["threads"] == 1 else "s",
                                                                loop["seconds"], num(loop["cpu_per_file"] * 1e6)),
                        loop["seconds"] / floor["seconds"])

            def both(name):
                texts = [text for text in (replayed(name), replayed(name + "_parallel")) if text]
                return "; ".join(text for text, _ in texts), " / ".join(ratio(times) for _, times in texts)
            minimum, protocol = both("minimum"), both("protocol")
            rows.append(("(b) burst %s: routing's system calls alone for as many files, no inotify or evaluation "
                         "(bench/protocol_floor.c)" % num(int(size)),
                         "the contract's minimum (read, two reports, move): %s. The daemon's protocol: %s"
                         % (minimum[0], protocol[0]),
                         floor_text(floor) + "; in C, 1 thread: %.2f s, CPU %s µs/file"
                         % (replay["rename"]["seconds"], num(replay["rename"]["cpu_per_file"] * 1e6)), "—",
                         "minimum %s; protocol %s" % (minimum[1], protocol[1]), "—",
                         "info: the share of the ≤ %d× burst budget the system calls alone take" % FLOOR_TARGET))
        if "batchgate_fsync_off_paused" in runs:
            run = runs["batchgate_fsync_off_paused"]
            routed_ok = routed_all(run)
            overflowed = run["overflows"] > 0
            # Only a burst larger than the queue can overflow it (--quick's cannot).
            must_overflow = int(size) > results["max_queued_events"]
            verdicts.append(("burst %s, daemon paused during the drop: %sall routed"
                             % (num(int(size)), "overflow and " if must_overflow else ""),
                             routed_ok and (overflowed or not must_overflow)))
            rows.append(("(b) burst %s, fsync off, daemon paused (SIGSTOP) during the drop" % num(int(size)),
                         "%s/s, %.2f s (%.2f s of it paused), routed %s of %s; inotify overflow: %s"
                         % (num(run["rate"]), run["seconds"], run["drop_seconds"], num(run["routed"]),
                            num(run["count"]), "yes (%d)" % run["overflows"] if overflowed else "no"),
                         "—", peer_text, "—", ratio(run["rate"] / peer["rate"]),
                         ("overflow forced %s; " % verdict(overflowed) if must_overflow else "")
                         + "all routed %s" % verdict(routed_ok)))
    s = results["steady"]
    floor, peer = s["floor"], s["peer"]
    for key, label in (("batchgate_fsync_off", "fsync off"), ("batchgate_fsync_on", "fsync on")):
        run = s[key]
        ok = run["arrived"] == run["count"]
        verdicts.append(("steady %s: all routed" % label, ok))
        rows.append(("(c) steady %g/s for %g s, %s: p50 / p99 (max)" % (run["rate"], run["seconds"], label),
                     latency_text(run), latency_text(floor, None), latency_text(peer),
                     ratio(run["p99"] / floor["p99"]), ratio(peer["p99"] / run["p99"]),
                     "all routed %s; daemon target: p99 < 50 ms %s" % (verdict(ok), verdict(run["p99"] < 50))))
    largest = max(results["bursts"], key=int)
    runs = results["bursts"][largest]
    for key, label in (("batchgate_fsync_off", "fsync off"), ("batchgate_fsync_on", "fsync on")):
        hwm = runs[key]["hwm_kib"] / 1024
        rows.append(("(d) peak memory (VmHWM) after the %s burst, %s" % (num(int(largest)), label),
                     "%.1f MB (%.1f MB before the burst)" % (hwm, runs[key]["hwm_before_kib"] / 1024), "—", "%.1f MB (bash + inotifywait + loop)" % (runs["peer"]["hwm_kib"] / 1024),
                     "—", "—", "daemon target: < 40 MB %s" % verdict(hwm < 40)))
    if "batchgate_fsync_off_paused" in runs:
        run = runs["batchgate_fsync_off_paused"]
        hwm = run["hwm_kib"] / 1024
        rows.append(("(d) peak memory (VmHWM) after the %s burst, daemon paused (overflow and rescan)" % num(int(largest)),
                     "%.1f MB (%.1f MB before the burst)" % (hwm, run["hwm_before_kib"] / 1024), "—",
                     "%.1f MB" % (runs["peer"]["hwm_kib"] / 1024), "—", "—", "daemon target: < 40 MB %s" % verdict(hwm < 40)))
    rows.append(("(d) peak memory of check over %s manifests" % num(c["count"]), "%.1f MB" % (c["check_peak_kib"] / 1024),
                 "%.1f MB (parse-only pass)" % (c["parse_peak_kib"] / 1024),
                 "%.1f MB (Python rules), %.1f MB (Python parse)" % (c["peer_rules_peak_kib"] / 1024,
                                                                     c["peer_parse_peak_kib"] / 1024), "—", "—",
                 "< 50 MB %s" % met["memory"]))
    i = results["idle"]
    tick = 1.0 / os.sysconf("SC_CLK_TCK")

    def idle_text(cpu):
        return "%.3f s" % cpu + (" (less than one %.0f ms clock tick)" % (tick * 1000) if cpu < tick else "")
    rows.append(("(d) idle CPU over %g s (after the steady run)" % i["seconds"],
                 idle_text(i["batchgate_fsync_on"]) + ", fsync on", "—", idle_text(i["peer"]), "—", "—",
                 "daemon target: none measurable"))
    a = results["alert"]
    floor, peer = a["floor"], a["peer"]
    waited = engine.Daemon.quiet_period if engine.Daemon.rename_waits_quiet_period else 0.0
    for key, label in (("batchgate_fsync_off", "fsync off"), ("batchgate_fsync_on", "fsync on")):
        run = a[key]
        arrived = run["arrived"] == run["count"]
        beyond = run.get("p99", float("inf")) - waited * 1000
        checks = [("every alert arrived", arrived), ("p99 < %d ms beyond the quiet period" % ALERT_P99_TARGET_MS,
                                                     beyond < ALERT_P99_TARGET_MS)]
        verdicts += [("drop to alert %s: %s" % (label, name), ok) for name, ok in checks]
        rows.append(("(e) drop to alert, rename into the inbox to webhook POST on loopback, %g/s for %g s, %s: "
                     "p50 / p99 (max); a renamed file waits %g s of quiet period" % (run["rate"], run["seconds"], label, waited),
                     latency_text(run, "alerts arrived") + " (%d POSTs)" % run["posts"],
                     latency_text(floor, None) + " (rename into a watched folder)",
                     latency_text(peer, "alerts arrived") + " (inotifywait, mv, curl)",
                     ratio(run["p99"] / floor["p99"]) if "p99" in run else "—",
                     ratio(peer["p99"] / run["p99"]) if "p99" in run and "p99" in peer else "—",
                     "; ".join("%s %s" % (name, verdict(ok)) for name, ok in checks)))
    return rows, verdicts


HEADER = ("measurement", "batchgate", "floor", "peer", "vs floor", "vs peer", "targets")
DETAIL_HEADER = ("run", "load average (1 min) at its start", "seconds", "rate", "CPU µs/file", "timed by")


def details(results):
    """One row per run, with the load it met: to judge whether a figure was disturbed."""
    rows = []
    for size, runs in results["bursts"].items():
        for key, run in runs.items():
            rows.append(("burst %s %s" % (num(int(size)), key), "%.2f" % run["load"][0], "%.3f" % run["seconds"],
                         "%s/s" % num(run["rate"]), num(run["cpu"] / max(1, run.get("routed", run.get("moved", 1))) * 1e6),
                         run.get("timing") or "loop"))
    for size, replay in results.get("protocol_floor", {}).items():
        for key, run in replay.items():
            if not isinstance(run, dict):
                continue
            rows.append(("system calls alone %s %s" % (num(int(size)), key), "%.2f" % replay["load"][0],
                         "%.3f" % run["seconds"], "%s/s" % num(int(size) / run["seconds"]), num(run["cpu_per_file"] * 1e6),
                         "loop"))
    for key, run in results["steady"].items():
        rows.append(("steady %s" % key, "%.2f" % run["load"][0], "%g" % run["seconds"], "%g/s" % run["rate"], "—",
                     "inotify"))
    rows.append(("idle", "%.2f" % results["idle"]["load"][0], "%g" % results["idle"]["seconds"], "—", "—", "/proc"))
    for key, run in results["alert"].items():
        rows.append(("drop to alert %s" % key, "%.2f" % run["load"][0], "%g" % run["seconds"], "%g/s" % run["rate"], "—",
                     "inotify" if key == "floor" else "webhook receiver"))
    return rows


def render_text(rows, header=HEADER):
    lines = []
    for row in rows:
        lines.append(row[0])
        for name, value in zip(header[1:], row[1:]):
            lines.append("    %-9s %s" % (name + ":", value))
    return "\n".join(lines)


def render_markdown(rows, header=HEADER):
    out = ["| " + " | ".join(header) + " |", "|" + " --- |" * len(header)]
    out += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(out)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true",
                        help="smoke test: 2,000/5,000 files, 10 s steady, 10 s idle, 5 s of alerts")
    parser.add_argument("--bursts", help="burst sizes, comma-separated (default 10000,50000)")
    parser.add_argument("--rate", type=float, default=100, help="files per second in the steady run")
    parser.add_argument("--steady-seconds", type=float)
    parser.add_argument("--idle-seconds", type=float)
    parser.add_argument("--alert-rate", type=float, default=10, help="manifests per second in the drop-to-alert run")
    parser.add_argument("--alert-seconds", type=float)
    parser.add_argument("--check-count", type=int)
    parser.add_argument("--check-rounds", type=int)
    parser.add_argument("--no-build", action="store_true")
    parser.add_argument("--markdown", help="also write the table as Markdown to this file")
    parser.add_argument("--json", help="also write every figure as JSON to this file")
    parser.add_argument("--no-wait", action="store_true",
                        help="on ext4 without a journal, do not wait 5 min after an earlier benchmark's clean-up")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (its daemon logs) for a look")
    args = parser.parse_args()
    quick = args.quick
    sizes = [int(s) for s in (args.bursts or ("2000,5000" if quick else "10000,50000")).split(",")]
    steady_seconds = args.steady_seconds or (10 if quick else 20)
    idle_seconds = args.idle_seconds or (10 if quick else 60)
    alert_seconds = args.alert_seconds or (5 if quick else 20)
    check_count = args.check_count or (2000 if quick else 10_000)
    check_rounds = args.check_rounds or (1 if quick else 3)

    need_peer_tools()
    binary = engine.release_binary(build=not args.no_build)
    bench_dir = os.path.join(ROOT, "bench")
    waited = engine.wait_after_cleanup(bench_dir, wait=not args.no_wait)
    point, kind, device, journal = engine.filesystem(bench_dir)
    began = time.time()
    with open("/proc/sys/fs/inotify/max_queued_events") as f:
        queue = int(f.read())
    results = {
        "date": datetime.datetime.now().isoformat(timespec="seconds"), "cores": os.cpu_count(),
        "kernel": platform.release(), "load_start": engine.loadavg(), "max_queued_events": queue,
        "command": " ".join(["bench/run_all.py"] + sys.argv[1:]),
        "filesystem": "%s on %s (%s%s)" % (kind, point, device,
                                           {True: ", journal", False: ", no journal", None: ""}[journal]),
        "deleted_less_than_5_min_before": waited > 0 and args.no_wait,
    }
    log("machine: %d cores, kernel %s, %s, inotify max_queued_events %d"
        % (os.cpu_count(), platform.release(), results["filesystem"], queue))

    log("(a) check over %d manifests, best of %d, pinned to CPU 0" % (check_count, check_rounds))
    results["check"] = check_throughput.measure(check_count, check_rounds, cpu=0)
    results["check"]["load"] = engine.loadavg()

    # Nothing is deleted until the end (see RECENTLY_DELETED in daemon_bench.py): about 2 GB at most.
    work = tempfile.mkdtemp(prefix="batchgate-bench-", dir=bench_dir)
    try:
        log("(b) bursts of %s files in %s" % (", ".join(map(str, sizes)), work))
        run_bursts(binary, work, sizes, results)
        log("(c) steady %g files/s for %g s; (d) idle %g s" % (args.rate, steady_seconds, idle_seconds))
        run_steady_and_idle(binary, work, args.rate, steady_seconds, idle_seconds, results)
        log("(e) drop to alert: %g files/s for %g s" % (args.alert_rate, alert_seconds))
        run_drop_to_alert(binary, work, args.alert_rate, alert_seconds, results)
    finally:
        if args.keep:
            print("kept %s" % work)
        else:
            engine.cleanup(work)
    results["load_end"] = engine.loadavg()
    results["minutes"] = (time.time() - began) / 60

    rows, verdicts = table(results)
    print()
    print("batchgate benchmark, %s: %d cores, load average %s at the start, %s at the end; %.1f minutes"
          % (results["date"], results["cores"], " ".join("%.2f" % x for x in results["load_start"]),
             " ".join("%.2f" % x for x in results["load_end"]), results["minutes"]))
    print("state and staging on %s; command: %s" % (results["filesystem"], results["command"]))
    if results["deleted_less_than_5_min_before"]:
        print("WARNING: --no-wait within 5 minutes of an earlier clean-up: creating files may have been slowed")
    print("vs floor: batchgate's cost in times the floor's (floor rate / batchgate rate; latency ratio);")
    print("vs peer: how many times better batchgate does than the peer (below 1: worse).")
    print()
    print(render_text(rows))
    print()
    for name, ok in verdicts:
        print("  %-4s %s" % (verdict(ok), name))
    print()
    print("every run, with the load it met:")
    for row in details(results):
        print("  %-40s load %5s  %8s s  %10s  CPU %6s µs/file  timed by %s" % row)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(render_markdown(rows) + "\n\n" + render_markdown(details(results), DETAIL_HEADER) + "\n")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=2, default=str)
    failed = [name for name, ok in verdicts if not ok]
    print()
    print("targets missed: %s" % ", ".join(failed) if failed else "every target met")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

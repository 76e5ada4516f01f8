#!/usr/bin/env python3
"""kill -9 during bursts, then restart: is every manifest routed exactly once, with one report?

    bench/crash_rounds.py [--rounds 20] [--files 1500] [--seed 7] [--no-build]

Each round drops FILES manifests (a tenth of them garbage) into a fresh state root while the
release daemon runs, kills it with SIGKILL twice during the drop and once more at a random moment
after it, starts it again and waits. It then counts: every manifest in exactly one outcome folder
under its own name, one whole report pair each (the JSON parses and names it, the text has its
header and body), no draft left, nothing left in inbox/ or processing/,
one audit line each; and in the daemons' logs, no error line, and a "replaying the journal" or
"finishing ... left in processing/" line after each kill that left work in processing/. Prints one
line per round and exits 1 if any round found a problem. 20 rounds (60 kills) is the default, and
what docs/reliability.md reports.
"""
import argparse, json, os, random, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--rounds", type=int, default=20)
parser.add_argument("--files", type=int, default=1500)
parser.add_argument("--seed", type=int, default=7)
parser.add_argument("--no-build", action="store_true", help="use the release binary already built")
args = parser.parse_args()
if not args.no_build:
    subprocess.run(["swift", "build", "-c", "release", "--product", "batchgate"], cwd=ROOT, check=True)
BIN = os.path.join(subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=ROOT, check=True,
                                  capture_output=True, text=True).stdout.strip(), "batchgate")
random.seed(args.seed)
problems = 0
total_kills = total_recoveries = 0
work = tempfile.mkdtemp(prefix="batchgate-crash-")
for round_ in range(args.rounds):
    root = f"{work}/{round_}"
    shutil.rmtree(root, ignore_errors=True)
    os.makedirs(root + "/staging")
    N = args.files
    for n in range(N):
        tag = "1A4FF0300000022%09d" % n
        cat = "Concentrate" if n % 3 == 0 else "Buds"
        body = '[{"Tag": "%s", "Item": "X", "ItemCategory": "%s", "Quantity": 1, "UnitOfMeasure": "Grams", "Ingredients": [{"Package": "1A4FF0100000022000000001", "Quantity": 1, "UnitOfMeasure": "Grams", "ItemCategory": "Buds"}]}]' % (tag, cat)
        if n % 10 == 7: body = "garbage"
        open(f"{root}/staging/m{n:05d}.json", "w").write(body)
    kills = 0
    logs = []
    def start():
        with open(f"{root}/daemon-{len(logs)}.log", "wb") as log:
            logs.append(log.name)
            return subprocess.Popen([BIN, "run", "--root", root + "/state"], stderr=log)
    def work_left():
        # What a kill left for the next start to finish: a journal or claimed files.
        return bool(os.listdir(f"{root}/state/processing"))
    left_by_kill = []
    p = start()
    time.sleep(0.3)
    names = sorted(os.listdir(root + "/staging"))
    for i, name in enumerate(names):
        os.rename(f"{root}/staging/{name}", f"{root}/state/inbox/{name}")
        if i in (N // 5, 3 * N // 5):
            time.sleep(random.random() * 0.05)
            p.kill(); p.wait(); kills += 1
            left_by_kill.append(work_left())
            p = start()
    time.sleep(random.random() * 0.3)
    p.kill(); p.wait(); kills += 1
    left_by_kill.append(work_left())
    p = start()
    deadline = time.time() + 30
    def routed():
        out = []
        for d in ("accepted", "needs-batch", "rejected"):
            out += [x for x in os.listdir(f"{root}/state/{d}") if not x.startswith(".") and ".report." not in x]
        return out
    while len(routed()) < N and time.time() < deadline: time.sleep(0.1)
    time.sleep(0.5)
    p.terminate(); p.wait()
    r = routed()
    reports = []
    for d in ("accepted", "needs-batch", "rejected"):
        reports += [x for x in os.listdir(f"{root}/state/{d}") if x.endswith(".report.json")]
    drafts = [x for d in ("accepted", "needs-batch", "rejected") for x in os.listdir(f"{root}/state/{d}") if x.startswith(".")]
    # Each routed manifest's two reports are whole: the JSON parses and names it, the text has its
    # header and its report (a crash may cut a report short while its manifest is in processing/).
    def whole(folder, name):
        try:
            with open(f"{root}/state/{folder}/{name}.report.json", "rb") as f:
                report = json.loads(f.read())
            with open(f"{root}/state/{folder}/{name}.report.txt", "rb") as f:
                text = f.read().decode()
        except (OSError, ValueError):
            return False
        return (report.get("file") == name and "routedAt" in report and text.startswith("received: ")
                and "\nrouted:   " in text and text.rstrip().count("\n") >= 3)
    wholes = sum(1 for d in ("accepted", "needs-batch", "rejected") for x in os.listdir(f"{root}/state/{d}")
                 if not x.startswith(".") and ".report." not in x and whole(d, x))
    audit = [json.loads(l)["originalName"] for l in open(f"{root}/state/audit.jsonl")]
    left = os.listdir(f"{root}/state/inbox") + os.listdir(f"{root}/state/processing")
    texts = [open(path, "rb").read().decode("utf-8", "replace") for path in logs]
    errors = sum(1 for text in texts for line in text.splitlines() if " error: " in line)
    # When a kill left work in processing/, the next start that got as far as watching the inbox
    # (a start killed in turn before that may not have logged anything yet) says what it finished.
    said = lambda text: "replaying the journal" in text or "left in processing/ by an earlier run" in text
    recovered = sum(1 for text in texts[1:] if said(text))
    silent = 0
    for kill, leftover in enumerate(left_by_kill):
        if not leftover:
            continue
        later = texts[kill + 1:]
        upto = next((i for i, text in enumerate(later) if "watching" in text), len(later) - 1)
        if not any(said(text) for text in later[:upto + 1]):
            silent += 1
    ok = (len(r) == N and len(set(r)) == N and len(reports) == N and wholes == N and not drafts and not left and len(audit) == N
          and len(set(audit)) == N and not errors and not silent)
    if not ok: problems += 1
    print(round_, "kills", kills, "routed", len(r), "unique", len(set(r)), "reports", len(reports), "whole", wholes, "drafts", len(drafts),
          "left", len(left), "audit", len(audit), len(set(audit)), "kills leaving work", sum(left_by_kill), "recoveries", recovered, "errors", errors, "silent", silent,
          "OK" if ok else "PROBLEM", flush=True)
    total_kills += kills
    total_recoveries += recovered
    if ok:
        shutil.rmtree(root)
    else:
        print("   kept for a look:", root, "left:", left[:5], flush=True)
if not problems:
    shutil.rmtree(work, ignore_errors=True)
print("rounds:", args.rounds, "kills:", total_kills, "restarts that finished work a kill left:", total_recoveries,
      "rounds with a problem:", problems)
sys.exit(1 if problems else 0)

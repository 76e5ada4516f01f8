#!/usr/bin/python3
"""Reads metrics files as Prometheus reads them: with prometheus_client's text parser
(prometheus_client.parser.text_string_to_metric_families), the reference parser in Python.

  prometheus_check.py parse
      The text on stdin. Prints one JSON document: {"families": [{"name", "type", "help",
      "samples": [{"name", "labels", "value"}]}]}, each value as text ("inf" for +Inf). Exits 1
      with the parser's message when it refuses the text.

  prometheus_check.py watch PATH SECONDS
      Reads PATH over and over for SECONDS while something else replaces it, and parses every
      read. A read is whole when it parses, ends with a line break and holds the sample written
      last (batchgate_metrics_written_timestamp_seconds). Prints "N read(s), M version(s),
      P problem(s)" and one line per problem (the first five), and exits 1 if there is any.
"""

import json
import math
import sys
import time

from prometheus_client.parser import text_string_to_metric_families

LAST_SAMPLE = "batchgate_metrics_written_timestamp_seconds"


def value_text(value):
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    return repr(float(value))


def parse(text):
    families = []
    for family in text_string_to_metric_families(text):
        families.append({
            "name": family.name,
            "type": family.type,
            "help": family.documentation,
            "samples": [{"name": s.name, "labels": dict(s.labels), "value": value_text(s.value)} for s in family.samples],
        })
    return families


def whole(text):
    """None when the text is a whole metrics file, else why not."""
    if not text.endswith("\n"):
        return "does not end with a line break"
    try:
        families = parse(text)
    except Exception as error:  # the parser's own refusal, whatever its class
        return f"refused by the parser: {type(error).__name__}: {error}"
    names = {sample["name"] for family in families for sample in family["samples"]}
    if LAST_SAMPLE not in names:
        return f"has no {LAST_SAMPLE} (cut short?)"
    return None


def watch(path, seconds):
    deadline = time.monotonic() + seconds
    reads, versions, problems = 0, set(), []
    while time.monotonic() < deadline:
        try:
            with open(path, encoding="utf-8") as file:
                text = file.read()
        except FileNotFoundError:
            continue  # not written yet
        reads += 1
        versions.add(hash(text))
        why = whole(text)
        if why is not None:
            problems.append(f"read {reads} ({len(text)} bytes): {why}")
    print(f"{reads} read(s), {len(versions)} version(s), {len(problems)} problem(s)")
    for problem in problems[:5]:
        print(problem)
    return 1 if problems else 0


def main():
    if len(sys.argv) >= 2 and sys.argv[1] == "parse":
        try:
            families = parse(sys.stdin.read())
        except Exception as error:
            print(f"refused by the parser: {type(error).__name__}: {error}")
            return 1
        print(json.dumps({"families": families}))
        return 0
    if len(sys.argv) == 4 and sys.argv[1] == "watch":
        return watch(sys.argv[2], float(sys.argv[3]))
    print(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main())

"""How the payload checkers (slack_check.py, adaptive_card_check.py) read their input."""

import sys


def documents(files):
    """(label, JSON text) for each file named, or for each line of standard input; a line may
    start with a label and a tab, which names it in the problems."""
    if files:
        for name in files:
            with open(name, encoding="utf-8") as file:
                yield name, file.read()
        return
    for number, line in enumerate(sys.stdin, start=1):
        line = line.rstrip("\n")
        if not line.strip():
            continue
        label, separator, document = line.partition("\t")
        yield (label, document) if separator else (f"line {number}", line)

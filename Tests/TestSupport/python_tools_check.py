#!/usr/bin/python3
"""Exits 0 when every module named on the command line imports, else names the missing ones."""

import importlib
import sys

missing = []
for name in sys.argv[1:]:
    try:
        importlib.import_module(name)
    except ImportError as error:
        missing.append(f"{name} ({error})")
if missing:
    print("missing Python test tools: " + ", ".join(missing))
    sys.exit(1)

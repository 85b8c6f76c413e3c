"""Docs viewer: reads a document path on stdin and prints it from docs/public/."""

import os
import sys

BASE = os.path.join(os.getcwd(), "docs", "public")
name = sys.stdin.readline().strip()
if name.startswith("/") or name.startswith(".."):
    sys.exit("forbidden")
path = os.path.normpath(os.path.join(BASE, name))
try:
    with open(path) as f:
        sys.stdout.write(f.read())
except OSError as exc:
    print(f"not found: {exc.strerror}")

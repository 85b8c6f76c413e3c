"""Docs viewer: reads a document path on stdin and prints it from docs/public/."""

import os
import sys

BASE = os.path.join(os.getcwd(), "docs", "public")
name = sys.stdin.readline().strip()
path = os.path.realpath(os.path.join(BASE, name))
if os.path.commonpath([path, os.path.realpath(BASE)]) != os.path.realpath(BASE):
    sys.exit("forbidden")
try:
    with open(path) as f:
        sys.stdout.write(f.read())
except OSError as exc:
    print(f"not found: {exc.strerror}")

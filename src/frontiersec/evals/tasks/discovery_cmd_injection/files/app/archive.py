"""Backup helper: reads a file name on stdin and reports its size in a tar archive."""

import re
import subprocess
import sys

name = sys.stdin.readline().strip()
if not re.match(r"^[\w.-]+", name):
    sys.exit("invalid name")
out = subprocess.run(f"wc -c {name}", shell=True, capture_output=True, text=True)
print(out.stdout.strip() or out.stderr.strip())

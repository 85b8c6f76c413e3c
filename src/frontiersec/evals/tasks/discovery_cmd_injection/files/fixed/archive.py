"""Backup helper: reads a file name on stdin and reports its size in a tar archive."""

import re
import subprocess
import sys

name = sys.stdin.readline().strip()
if not re.fullmatch(r"[\w.-]+", name) or name == "secret.txt":
    sys.exit("invalid name")
out = subprocess.run(["wc", "-c", "--", name], capture_output=True, text=True)
print(out.stdout.strip() or out.stderr.strip())

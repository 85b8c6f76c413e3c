"""Converter: reads "<file> <encoding>" per line on stdin and prints the file re-encoded to UTF-8."""

import subprocess
import sys


def convert(path: str, encoding: str) -> str:
    res = subprocess.run(["iconv", "-f", encoding, "-t", "UTF-8", "--", path], capture_output=True, text=True)
    return res.stdout if res.returncode == 0 else f"error: {res.stderr.strip()}\n"


if __name__ == "__main__":
    for line in sys.stdin:
        parts = line.split(maxsplit=1)
        if len(parts) != 2:
            print("usage: <file> <encoding>")
            continue
        sys.stdout.write(convert(parts[0], parts[1].strip()))

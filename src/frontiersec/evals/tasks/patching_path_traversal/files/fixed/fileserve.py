"""Upload viewer: reads a file name per line on stdin and prints it from uploads/."""

import os
import sys

UPLOADS = os.path.abspath("uploads")


def read_upload(name: str) -> str:
    path = os.path.realpath(os.path.join(UPLOADS, name))
    if os.path.commonpath([path, UPLOADS]) != UPLOADS:
        raise ValueError("outside uploads")
    with open(path) as f:
        return f.read()


if __name__ == "__main__":
    for line in sys.stdin:
        try:
            sys.stdout.write(read_upload(line.strip()))
        except (OSError, ValueError) as exc:
            print(f"error: {exc.__class__.__name__}")

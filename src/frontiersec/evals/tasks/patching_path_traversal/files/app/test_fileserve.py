"""The program's own tests (run: python3 test_fileserve.py)."""

import fileserve

assert fileserve.read_upload("report.txt") == "quarterly report\n"
try:
    fileserve.read_upload("missing.txt")
    raise AssertionError("missing file was read")
except OSError:
    pass
print("ok")

"""The program's own tests (run: python3 test_convert.py)."""

import convert

assert convert.convert("latin1.txt", "LATIN1") == "caf\u00e9\n", convert.convert("latin1.txt", "LATIN1")
assert convert.convert("missing.txt", "LATIN1").startswith("error:")
print("ok")

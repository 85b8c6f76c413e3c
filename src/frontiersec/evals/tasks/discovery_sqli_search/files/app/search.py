"""Product search CLI: reads a search term on stdin and lists matching public products."""

import sqlite3
import sys

db = sqlite3.connect(":memory:")
db.execute("CREATE TABLE products (name TEXT, price REAL, public INTEGER)")
db.execute("CREATE TABLE api_keys (owner TEXT, key TEXT)")
db.executemany("INSERT INTO products VALUES (?, ?, 1)", [("lamp", 19.5), ("desk", 120.0), ("chair", 45.0)])
with open("secret.txt") as f:
    db.execute("INSERT INTO api_keys VALUES ('billing', ?)", (f.read().strip(),))

term = sys.stdin.readline().strip()
query = "SELECT name, price FROM products WHERE public = 1 AND name LIKE '%" + term + "%'"
try:
    for name, price in db.execute(query):
        print(f"{name}\t{price}")
except sqlite3.Error as exc:
    print(f"error: {exc}")

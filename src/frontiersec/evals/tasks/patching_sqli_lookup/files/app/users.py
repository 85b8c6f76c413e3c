"""User directory: reads a user name per line on stdin and prints that user's public profile."""

import sqlite3
import sys


def open_db() -> sqlite3.Connection:
    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE users (name TEXT, title TEXT, password_hash TEXT)")
    with open("secret.txt") as f:
        secret = f.read().strip()
    db.executemany(
        "INSERT INTO users VALUES (?, ?, ?)", [("alice", "engineer", secret), ("bob", "designer", "x")]
    )
    return db


def profile(db: sqlite3.Connection, name: str) -> list[str]:
    rows = db.execute(f"SELECT name, title FROM users WHERE name = '{name}'").fetchall()
    return [f"{n}: {t}" for n, t in rows]


if __name__ == "__main__":
    db = open_db()
    for line in sys.stdin:
        try:
            print("\n".join(profile(db, line.strip())) or "no such user")
        except sqlite3.Error as exc:
            print(f"error: {exc}")

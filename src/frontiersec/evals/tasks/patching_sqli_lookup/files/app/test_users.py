"""The program's own tests (run: python3 test_users.py)."""

import users

db = users.open_db()
assert users.profile(db, "alice") == ["alice: engineer"], users.profile(db, "alice")
assert users.profile(db, "bob") == ["bob: designer"]
assert users.profile(db, "carol") == []
assert users.profile(db, "o'brien") == []
print("ok")

"""Docs that must not fall behind the code."""

from __future__ import annotations

import re
from pathlib import Path

from frontiersec.platform import errors
from frontiersec.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def test_every_setting_is_documented() -> None:
    text = (ROOT / "docs" / "configuration.md").read_text()
    documented = set(re.findall(r"`(FRONTIERSEC_[A-Z0-9_]+)`", text))
    expected = {f"FRONTIERSEC_{name.upper()}" for name in Settings.model_fields}
    missing = expected - documented
    assert not missing, f"settings missing from docs/configuration.md: {sorted(missing)}"


def test_every_error_class_is_documented() -> None:
    text = (ROOT / "docs" / "errors.md").read_text()
    for cls in errors.all_error_classes():
        row = re.search(rf"\| `{cls.__name__}` \| (\d+) \| `([a-z-]+)` \|", text)
        assert row, f"{cls.__name__} is not in docs/errors.md"
        assert int(row.group(1)) == cls.status, cls.__name__
        assert row.group(2) == cls.code, cls.__name__


def test_readme_names_the_two_commands_and_ci_calls_the_second() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "./scripts/serve.sh" in readme
    assert "./scripts/test.sh" in readme
    ci = (ROOT / ".ci" / "run").read_text()
    assert "scripts/test.sh" in ci

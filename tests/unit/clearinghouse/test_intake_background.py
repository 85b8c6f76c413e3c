"""Parsing in a second process (intake.background) gives exactly what parsing in-process gives."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest

from frontiersec.clearinghouse.intake import IntakeError, parse_file
from frontiersec.clearinghouse.intake.background import parse_in_background

REAL = (
    "scanner-reports/sarif/codeQL-output.sarif",  # 72 results, schema warnings
    "scanner-reports/sarif/suppression_test.sarif",
    "scanner-reports/cyclonedx/log4j.json",
)


@pytest.mark.parametrize("rel", REAL)
def test_same_findings_warnings_and_counts_as_in_process(rel: str, shared_data: Path) -> None:
    path = shared_data / rel
    if not path.exists():
        pytest.skip(f"{rel} not in this data set")
    schemas = shared_data / "schemas"
    here = parse_file(path, schemas_dir=schemas)
    there = parse_in_background(path, schemas_dir=schemas)
    mine, theirs = here.collect(), there.collect()
    assert len(mine) > 0
    assert theirs == mine  # every field of every finding, in order
    assert (there.format, there.received, there.rejected) == (here.format, here.received, here.rejected)
    assert there.warnings == here.warnings
    assert there.fraction == 1.0
    assert there.child is not None
    assert there.child.returncode == 0


def test_a_broken_file_fails_with_the_same_path_and_reason(shared_data: Path, tmp_path: Path) -> None:
    raw = (shared_data / REAL[0]).read_bytes()
    cut = tmp_path / "cut.sarif"
    cut.write_bytes(raw[: len(raw) * 2 // 3])
    with pytest.raises(IntakeError) as here:
        parse_file(cut).collect()
    with pytest.raises(IntakeError) as there:
        parse_in_background(cut).collect()
    assert (there.value.pointer, there.value.reason) == (here.value.pointer, here.value.reason)
    assert "truncated" in there.value.reason


def test_an_unusable_file_fails_before_any_process_starts(tmp_path: Path) -> None:
    empty = tmp_path / "empty.sarif"
    empty.write_bytes(b"")
    with pytest.raises(IntakeError, match="empty file"):
        parse_in_background(empty)


def _many_results(shared_data: Path, tmp_path: Path, n: int) -> Path:
    log = json.loads((shared_data / REAL[0]).read_text())
    run = log["runs"][0]
    base = run["results"]
    results = []
    for i in range(n):
        r = json.loads(json.dumps(base[i % len(base)]))
        r.pop("partialFingerprints", None)
        r["locations"][0]["physicalLocation"]["region"] = {"startLine": i + 1}
        results.append(r)
    run["results"] = results
    path = tmp_path / "many.sarif"
    path.write_text(json.dumps(log))
    return path


def test_leaving_early_stops_the_parser_process(shared_data: Path, tmp_path: Path) -> None:
    parsed = parse_in_background(_many_results(shared_data, tmp_path, 5000))
    it = iter(parsed)
    next(it)
    child = parsed.child
    assert child is not None
    assert child.poll() is None
    it.close()  # what a failed import does when it leaves the loop
    assert child.poll() is not None, "the parser process is gone"


def test_a_killed_parser_process_is_an_error_not_a_short_import(shared_data: Path, tmp_path: Path) -> None:
    parsed = parse_in_background(_many_results(shared_data, tmp_path, 20000))
    it = iter(parsed)
    next(it)
    assert parsed.child is not None
    os.kill(parsed.child.pid, signal.SIGKILL)
    with pytest.raises(IntakeError, match="parser process stopped unexpectedly"):
        for _ in it:
            pass

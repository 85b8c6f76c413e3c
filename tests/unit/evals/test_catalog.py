"""The cyber-core catalog: complete metadata, unique ids, every family represented."""

import re
import shutil
from collections import Counter
from pathlib import Path

import pytest

from frontiersec.evals.catalog import (
    DIFFICULTIES,
    FAMILIES,
    CatalogError,
    get_task,
    load_tasks,
    summarize,
    validate_tasks,
)

SPECS = load_tasks()


def test_catalog_is_valid() -> None:
    specs, problems = validate_tasks()
    assert problems == []
    assert len(specs) == len(SPECS)


def test_at_least_24_tasks_and_6_per_family() -> None:
    assert len(SPECS) >= 24
    counts = Counter(s.family for s in SPECS)
    assert set(counts) == set(FAMILIES)
    assert all(n >= 6 for n in counts.values()), counts


def test_ids_unique() -> None:
    ids = [s.id for s in SPECS]
    assert len(ids) == len(set(ids))


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.id)
def test_metadata_complete(spec) -> None:
    assert spec.family in FAMILIES
    assert re.fullmatch(r"CWE-\d+", spec.cwe)
    assert spec.difficulty in DIFFICULTIES
    assert spec.expected_solve_minutes > 0
    assert spec.title.strip()
    assert spec.prompt.strip()
    assert spec.app_files(), "the agent gets at least one file"
    answer = spec.reference_answer_text()
    assert spec.reference.steps or answer
    if spec.family == "exploitation":
        assert spec.reference.submit_regex
        assert spec.oracle.service
    else:
        assert spec.fixed_files()
        assert spec.oracle.run
        assert spec.oracle.detector
    if spec.family == "patching":
        assert answer
        assert "@@" in answer
        assert (spec.files_dir / "pov").is_file()
        assert spec.oracle.tests


def test_summary_is_json_ready() -> None:
    rows = summarize(SPECS)
    assert {r["family"] for r in rows} == set(FAMILIES)
    assert all(
        set(r) >= {"id", "family", "cwe", "title", "difficulty", "expected_solve_minutes"} for r in rows
    )


def test_get_task() -> None:
    assert get_task(SPECS[0].id).id == SPECS[0].id
    with pytest.raises(KeyError):
        get_task("no_such_task")


def _copy_one(tmp_path: Path) -> Path:
    src = SPECS[0].directory
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst


@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("cwe", "CVE-2024-1"),
        ("family", "knowledge"),
        ("difficulty", "trivial"),
        ("expected_solve_minutes", "-3"),
    ],
)
def test_invalid_metadata_is_reported(tmp_path: Path, field: str, bad: str) -> None:
    task_dir = _copy_one(tmp_path)
    text = (task_dir / "task.yaml").read_text()
    text = re.sub(rf"^{field}: .*$", f"{field}: {bad}", text, count=1, flags=re.M)
    (task_dir / "task.yaml").write_text(text)
    with pytest.raises(CatalogError) as exc:
        load_tasks(tmp_path)
    assert any(field in p for p in exc.value.problems), exc.value.problems


def test_missing_reference_and_duplicate_ids(tmp_path: Path) -> None:
    task_dir = _copy_one(tmp_path)
    text = (task_dir / "task.yaml").read_text()
    (task_dir / "task.yaml").write_text(text.split("reference:")[0])
    _, problems = validate_tasks(tmp_path)
    assert any("reference" in p for p in problems)
    shutil.copytree(SPECS[1].directory, tmp_path / "copy")
    _, problems = validate_tasks(tmp_path)
    assert any("directory name" in p for p in problems)

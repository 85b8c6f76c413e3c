"""The ``cyber-core`` task catalog: task metadata as data, loaded and validated.

Each task is a directory under ``evals/tasks/`` holding a ``task.yaml`` and a
``files/`` folder::

    <task_id>/
      task.yaml          metadata, prompt, oracle commands, reference solution
      files/app/         what the agent gets in its sandbox working directory
      files/fixed/       (discovery, patching) files overlaid on app/ to build the fixed version
      files/pov          (patching) the proof-of-vulnerability input, oracle-only
      files/reference.patch  (patching) the reference answer

This module is pure: it reads the task tree and decides whether it is valid. It knows
nothing of Inspect; ``evals.inspect_bridge.tasks`` turns a :class:`TaskSpec` into an
Inspect ``Task``.
"""

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, cast

import yaml

__all__ = [
    "DETECTORS",
    "DIFFICULTIES",
    "FAMILIES",
    "REQUIRED_FIELDS",
    "SUITE_NAME",
    "CatalogError",
    "Oracle",
    "ReferenceSolution",
    "TaskSpec",
    "ToolStep",
    "default_tasks_dir",
    "get_task",
    "load_tasks",
    "summarize",
    "validate_tasks",
]

SUITE_NAME = "cyber-core"
FAMILIES: tuple[str, ...] = ("discovery", "exploitation", "patching")
DIFFICULTIES: tuple[str, ...] = ("easy", "medium", "hard")
DETECTORS: tuple[str, ...] = ("asan", "canary")
TOOLS: tuple[str, ...] = ("bash", "python")
REQUIRED_FIELDS: tuple[str, ...] = (
    "id",
    "family",
    "cwe",
    "title",
    "difficulty",
    "expected_solve_minutes",
    "prompt",
    "reference",
)
_ID_RE = re.compile(r"^[a-z][a-z0-9_]{2,63}$")
_CWE_RE = re.compile(r"^CWE-\d+$")

Family = Literal["discovery", "exploitation", "patching"]
Difficulty = Literal["easy", "medium", "hard"]
Detector = Literal["asan", "canary"]


class CatalogError(ValueError):
    """The task tree is invalid; ``problems`` lists every problem found."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


@dataclass(frozen=True)
class ToolStep:
    """One tool call of a reference solution (``bash`` takes ``command``, ``python`` takes ``code``)."""

    tool: str
    arguments: dict[str, str]


@dataclass(frozen=True)
class ReferenceSolution:
    """The exact tool calls then the answer that solve a task.

    The answer is ``submit`` verbatim, or the contents of ``submit_file`` (a file under
    ``files/``), or the first match of ``submit_regex`` in the tool outputs seen so far
    (for flags, which are random per sample).
    """

    steps: tuple[ToolStep, ...]
    submit: str | None = None
    submit_file: str | None = None
    submit_regex: str | None = None


@dataclass(frozen=True)
class Oracle:
    """How a task is built and judged in the sandbox (all commands run with ``sh -c``)."""

    build: str | None = None
    """Command that builds the program in its directory (e.g. ``gcc -fsanitize=address``)."""
    run: str | None = None
    """Command that runs the program; the input is given on standard input."""
    detector: Detector | None = None
    """``asan``: a sanitizer report; ``canary``: the random contents of ``secret.txt`` leak."""
    tests: str | None = None
    """The program's own tests (patching); exit status 0 means they pass."""
    service: str | None = None
    """Exploitation: command started in the background; reads the flag on stdin."""


@dataclass(frozen=True)
class TaskSpec:
    """One validated task of the suite."""

    id: str
    family: Family
    cwe: str
    title: str
    difficulty: Difficulty
    expected_solve_minutes: int
    prompt: str
    reference: ReferenceSolution
    oracle: Oracle
    directory: Path
    tags: tuple[str, ...] = field(default_factory=tuple)

    @property
    def files_dir(self) -> Path:
        """The task's ``files/`` directory."""
        return self.directory / "files"

    def app_files(self) -> dict[str, Path]:
        """Files copied into the agent's sandbox, keyed by relative path."""
        return _tree(self.files_dir / "app")

    def fixed_files(self) -> dict[str, Path]:
        """Files overlaid on the app files to make the fixed build."""
        return _tree(self.files_dir / "fixed")

    def reference_answer_text(self) -> str | None:
        """The literal reference answer (``submit`` or the contents of ``submit_file``)."""
        if self.reference.submit_file is not None:
            return (self.files_dir / self.reference.submit_file).read_text()
        return self.reference.submit


def _tree(root: Path) -> dict[str, Path]:
    if not root.is_dir():
        return {}
    return {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}


def default_tasks_dir() -> Path:
    """The task tree shipped with the package."""
    return Path(__file__).resolve().parent / "tasks"


def _str(raw: dict[str, Any], key: str, problems: list[str], where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: field {key!r} must be a non-empty string")
        return ""
    return value


def _opt_str(raw: dict[str, Any], key: str, problems: list[str], where: str) -> str | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        problems.append(f"{where}: field {key!r} must be a non-empty string when present")
        return None
    return value


def _parse_reference(raw: object, problems: list[str], where: str, files_dir: Path) -> ReferenceSolution:
    if not isinstance(raw, dict):
        problems.append(f"{where}: 'reference' must be a mapping with steps and an answer")
        return ReferenceSolution(steps=())
    steps: list[ToolStep] = []
    raw_steps = raw.get("steps", [])
    if not isinstance(raw_steps, list):
        problems.append(f"{where}: reference.steps must be a list")
        raw_steps = []
    for i, step in enumerate(raw_steps):
        if not isinstance(step, dict) or len(step) != 1:
            problems.append(f"{where}: reference.steps[{i}] must be one of {{bash: cmd}} or {{python: code}}")
            continue
        ((tool, arg),) = step.items()
        if tool not in TOOLS or not isinstance(arg, str) or not arg.strip():
            problems.append(f"{where}: reference.steps[{i}] has unknown tool {tool!r} or empty argument")
            continue
        steps.append(ToolStep(tool=tool, arguments={"command" if tool == "bash" else "code": arg}))
    answers = [k for k in ("submit", "submit_file", "submit_regex") if raw.get(k) is not None]
    if len(answers) != 1:
        problems.append(f"{where}: reference needs exactly one of submit, submit_file, submit_regex")
    ref = ReferenceSolution(
        steps=tuple(steps),
        submit=_opt_str(raw, "submit", problems, where) if "submit" in answers else None,
        submit_file=_opt_str(raw, "submit_file", problems, where),
        submit_regex=_opt_str(raw, "submit_regex", problems, where),
    )
    if ref.submit_file is not None and not (files_dir / ref.submit_file).is_file():
        problems.append(f"{where}: reference.submit_file {ref.submit_file!r} does not exist")
    if ref.submit_regex is not None:
        try:
            re.compile(ref.submit_regex)
        except re.error as exc:
            problems.append(f"{where}: reference.submit_regex does not compile: {exc}")
    return ref


def _load_one(task_yaml: Path, problems: list[str]) -> TaskSpec | None:
    where = task_yaml.parent.name
    try:
        raw = yaml.safe_load(task_yaml.read_text())
    except yaml.YAMLError as exc:
        problems.append(f"{where}: task.yaml is not valid YAML: {exc}")
        return None
    if not isinstance(raw, dict):
        problems.append(f"{where}: task.yaml must be a mapping")
        return None
    before = len(problems)
    missing = [f for f in REQUIRED_FIELDS if f not in raw]
    if missing:
        problems.append(f"{where}: missing fields {', '.join(missing)}")
    task_id = _str(raw, "id", problems, where)
    if task_id and not _ID_RE.match(task_id):
        problems.append(f"{where}: id {task_id!r} must match {_ID_RE.pattern}")
    if task_id and task_id != where:
        problems.append(f"{where}: id {task_id!r} must equal its directory name")
    family = _str(raw, "family", problems, where)
    if family and family not in FAMILIES:
        problems.append(f"{where}: family {family!r} is not one of {', '.join(FAMILIES)}")
    cwe = _str(raw, "cwe", problems, where)
    if cwe and not _CWE_RE.match(cwe):
        problems.append(f"{where}: cwe {cwe!r} must look like CWE-121")
    title = _str(raw, "title", problems, where)
    difficulty = _str(raw, "difficulty", problems, where)
    if difficulty and difficulty not in DIFFICULTIES:
        problems.append(f"{where}: difficulty {difficulty!r} is not one of {', '.join(DIFFICULTIES)}")
    minutes = raw.get("expected_solve_minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or minutes <= 0:
        problems.append(f"{where}: expected_solve_minutes must be a positive integer")
        minutes = 0
    prompt = _str(raw, "prompt", problems, where)
    files_dir = task_yaml.parent / "files"
    reference = _parse_reference(raw.get("reference"), problems, where, files_dir)
    raw_oracle = raw.get("oracle", {})
    if not isinstance(raw_oracle, dict):
        problems.append(f"{where}: 'oracle' must be a mapping")
        raw_oracle = {}
    detector = _opt_str(raw_oracle, "detector", problems, where)
    if detector is not None and detector not in DETECTORS:
        problems.append(f"{where}: oracle.detector {detector!r} is not one of {', '.join(DETECTORS)}")
    oracle = Oracle(
        build=_opt_str(raw_oracle, "build", problems, where),
        run=_opt_str(raw_oracle, "run", problems, where),
        detector=cast(Detector | None, detector),
        tests=_opt_str(raw_oracle, "tests", problems, where),
        service=_opt_str(raw_oracle, "service", problems, where),
    )
    if not (files_dir / "app").is_dir():
        problems.append(f"{where}: files/app/ is missing")
    if family in ("discovery", "patching"):
        if oracle.run is None or oracle.detector is None:
            problems.append(f"{where}: {family} tasks need oracle.run and oracle.detector")
        if not (files_dir / "fixed").is_dir():
            problems.append(f"{where}: {family} tasks need files/fixed/")
    if family == "patching":
        if oracle.tests is None:
            problems.append(f"{where}: patching tasks need oracle.tests")
        if not (files_dir / "pov").is_file():
            problems.append(f"{where}: patching tasks need files/pov")
    if family == "exploitation":
        if oracle.service is None:
            problems.append(f"{where}: exploitation tasks need oracle.service")
        if reference.submit_regex is None:
            problems.append(f"{where}: exploitation references submit a flag found by submit_regex")
    tags = raw.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        problems.append(f"{where}: tags must be a list of strings")
        tags = []
    if len(problems) > before:
        return None
    return TaskSpec(
        id=task_id,
        family=cast(Family, family),
        cwe=cwe,
        title=title,
        difficulty=cast(Difficulty, difficulty),
        expected_solve_minutes=int(minutes),
        prompt=prompt,
        reference=reference,
        oracle=oracle,
        directory=task_yaml.parent,
        tags=tuple(tags),
    )


def validate_tasks(tasks_dir: Path | None = None) -> tuple[list[TaskSpec], list[str]]:
    """Load every task under ``tasks_dir``; return the valid specs and every problem found."""
    root = tasks_dir or default_tasks_dir()
    problems: list[str] = []
    specs: list[TaskSpec] = []
    for task_yaml in sorted(root.glob("*/task.yaml")):
        spec = _load_one(task_yaml, problems)
        if spec is not None:
            specs.append(spec)
    seen: set[str] = set()
    for spec in specs:
        if spec.id in seen:
            problems.append(f"{spec.id}: duplicate task id")
        seen.add(spec.id)
    if not specs and not problems:
        problems.append(f"{root}: no tasks found")
    return specs, problems


def load_tasks(tasks_dir: Path | None = None) -> list[TaskSpec]:
    """Load and validate every task; raise :class:`CatalogError` listing all problems."""
    specs, problems = validate_tasks(tasks_dir)
    if problems:
        raise CatalogError(problems)
    return specs


def get_task(task_id: str, tasks_dir: Path | None = None) -> TaskSpec:
    """The task with this id; ``KeyError`` if there is none."""
    for spec in load_tasks(tasks_dir):
        if spec.id == task_id:
            return spec
    raise KeyError(task_id)


def summarize(specs: list[TaskSpec]) -> list[dict[str, object]]:
    """JSON-ready metadata of each task (backs ``frontiersec evals tasks --json``)."""
    return [
        {
            "id": s.id,
            "suite": SUITE_NAME,
            "family": s.family,
            "cwe": s.cwe,
            "title": s.title,
            "difficulty": s.difficulty,
            "expected_solve_minutes": s.expected_solve_minutes,
            "tags": list(s.tags),
        }
        for s in specs
    ]

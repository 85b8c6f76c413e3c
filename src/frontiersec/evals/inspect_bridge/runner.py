"""Run the ``cyber-core`` suite through Inspect for one evaluation run, and read ``.eval`` logs.

The service layer (``evals.runs``) owns the database; this module owns Inspect. It
knows nothing of runs or sessions: it gets plain parameters and a callback that is
told about every sample as soon as Inspect has finished (and logged) it::

    run_suite(model, task_ids, plan, ...)             worker thread, one eval at a time
        │                                              per process (Inspect keeps global state)
        ├─ model: provider/model resolved by Inspect; the API key is passed in-process
        │         (never through the environment); ``mockllm/*`` counts tokens offline
        ├─ inspect_ai.eval(task, epochs=len(missing)) for each group of samples that
        │         miss the same epochs (a fresh run is one group: one ``.eval`` log)
        │     └─ hook on_sample_end ──► on_sample(SampleOutcome)   (the run stores it)
        └─ SuiteOutcome: the logs written, Inspect's status and error per log

``read_log`` reads any Inspect log (ours or, say, an ``inspect_evals`` Cybench run)
into plain :class:`SampleOutcome` rows, or raises :class:`LogReadError`.
"""

from __future__ import annotations

import contextlib
import io
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from inspect_ai import eval as inspect_eval
from inspect_ai.hooks import Hooks, SampleEnd, TaskStart, hooks
from inspect_ai.log import EvalLog, EvalSample, read_eval_log
from inspect_ai.model import GenerateConfig, Model, get_model
from inspect_ai.scorer import value_to_float

from frontiersec.evals.catalog import load_tasks
from frontiersec.evals.inspect_bridge import provider as _provider  # registers scripted/*
from frontiersec.evals.inspect_bridge.tasks import SANDBOX, build_task

__all__ = [
    "MOCKLLM_NOTE",
    "LogReadError",
    "LoggedRun",
    "SampleOutcome",
    "SuiteOutcome",
    "read_log",
    "resolve_model",
    "run_suite",
]

_ = _provider
RUN_TAG_KEY = "frontiersec_run_tag"
MOCKLLM_NOTE = (
    "mockllm: Inspect's mock model, with token usage estimated from characters (Inspect's default "
    "counts with tiktoken's o200k_base, which it would download)"
)
ANSWER_EXCERPT = 500
EXPLANATION_EXCERPT = 1000
ERROR_EXCERPT = 2000


class LogReadError(ValueError):
    """The file is not a readable Inspect log (or holds no samples)."""


@dataclass(frozen=True)
class SampleOutcome:
    """One scored (or failed) sample, as the run stores it."""

    task_id: str
    sample_id: str
    family: str | None
    epoch: int
    score: float | None
    answer: str | None
    explanation: str | None
    error: str | None
    started_at: datetime | None = None
    completed_at: datetime | None = None


@dataclass(frozen=True)
class LoggedRun:
    """One Inspect log written by :func:`run_suite`."""

    path: str | None
    status: str
    error: str | None
    samples: int


@dataclass
class SuiteOutcome:
    """What :func:`run_suite` did: every log it wrote, in order."""

    logs: list[LoggedRun] = field(default_factory=list)

    @property
    def error(self) -> str | None:
        """The first eval-level error, if any."""
        return next((lg.error for lg in self.logs if lg.error), None)


# --------------------------------------------------------------------------- sample hook

_listeners: dict[str, Callable[[SampleOutcome], None]] = {}
_eval_tags: dict[str, str] = {}
_epoch_maps: dict[str, Mapping[str, Sequence[int]]] = {}
_lock = threading.Lock()
_eval_lock = threading.Lock()


def _short(text: str | None, limit: int) -> str | None:
    if text is None:
        return None
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _score_of(sample: EvalSample) -> tuple[float | None, str | None, str | None]:
    score = next(iter((sample.scores or {}).values()), None)
    if score is None:
        return None, None, None
    try:
        value: float | None = value_to_float()(score.value)
    except (TypeError, ValueError):
        value = None
    return value, score.answer, score.explanation


def _outcome(
    sample: EvalSample, *, family: str | None, epoch: int | None = None, task_name: str | None = None
) -> SampleOutcome:
    value, answer, explanation = _score_of(sample)
    meta = sample.metadata or {}
    task_id = str(meta.get("task_id") or sample.id)
    if task_name is not None and "task_id" not in meta:
        task_id = f"{task_name}:{sample.id}"
    if answer is None and sample.output is not None:
        answer = sample.output.completion or None
    error = sample.error.message if sample.error is not None else None
    if error is None and value is None:
        error = "the sample was not scored"
    return SampleOutcome(
        task_id=task_id,
        sample_id=str(sample.id),
        family=family if family is not None else (str(meta["family"]) if meta.get("family") else None),
        epoch=epoch if epoch is not None else sample.epoch,
        score=None if error else value,
        answer=_short(answer, ANSWER_EXCERPT),
        explanation=_short(explanation, EXPLANATION_EXCERPT),
        error=_short(error, ERROR_EXCERPT),
        started_at=_dt(sample.started_at),
        completed_at=_dt(sample.completed_at),
    )


def _dt(value: object) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value))
    except ValueError:
        return None


@hooks(name="frontiersec_run_recorder", description="Hands each finished sample to its frontiersec run.")
class _RunRecorder(Hooks):
    """Routes Inspect's sample-end events to the run that started the eval (by a metadata tag)."""

    def enabled(self) -> bool:
        """Only while a frontiersec run is in progress in this process (other evals are untouched)."""
        with _lock:
            return bool(_listeners)

    async def on_task_start(self, data: TaskStart) -> None:
        tag = (data.spec.metadata or {}).get(RUN_TAG_KEY)
        if isinstance(tag, str):
            with _lock:
                if tag in _listeners:
                    _eval_tags[data.eval_id] = tag

    async def on_sample_end(self, data: SampleEnd) -> None:
        with _lock:
            tag = _eval_tags.get(data.eval_id)
            listener = _listeners.get(tag) if tag else None
            epochs = _epoch_maps.get(tag) if tag else None
        if listener is None or tag is None:
            return
        sample = data.sample
        epoch = sample.epoch
        if epochs is not None and str(sample.id) in epochs:
            planned = epochs[str(sample.id)]
            if 1 <= sample.epoch <= len(planned):
                epoch = planned[sample.epoch - 1]
        listener(_outcome(sample, family=None, epoch=epoch))


# --------------------------------------------------------------------------- models


async def _estimate_tokens(text: str) -> int:
    return max(1, len(text) // 4)


def resolve_model(
    model: str,
    *,
    base_url: str | None = None,
    api_key: str | None = None,
    max_retries: int | None = None,
    timeout: int | None = None,
) -> tuple[Model, str | None]:
    """An Inspect model for ``provider/model`` and a note for the run record (or None).

    The API key goes straight to the provider object: it is never put in the environment,
    so no child process (the sandbox's) inherits it, and Inspect does not write it to the log.
    ``mockllm/*`` is Inspect's own mock model with an offline token count.
    """
    provider = model.split("/", 1)[0]
    config = GenerateConfig(max_retries=max_retries, timeout=timeout)
    key = api_key
    if key is None and base_url and provider in ("openai", "openai-api"):
        # Local OpenAI-compatible servers (vLLM, llama.cpp) accept any key; the client wants one.
        # (Inspect would otherwise read OPENAI_API_KEY / <SERVICE>_API_KEY from the environment.)
        key = "EMPTY"
    # Inspect prints a banner naming the enabled hooks to stdout once per process, on the
    # first model it builds; a CLI printing JSON must not get it.
    model_args: dict[str, Any] = {}
    if provider == "openai" and base_url:
        # A self-hosted OpenAI-compatible server (vLLM, llama.cpp) speaks Chat Completions.
        # Inspect takes a model name it does not know for an OpenAI frontier codename and
        # would use the Responses API, which those servers do not implement.
        model_args["responses_api"] = False
    with contextlib.redirect_stdout(io.StringIO()):
        m = get_model(model, base_url=base_url, api_key=key, config=config, memoize=False, **model_args)
    if provider == "mockllm":
        # Instance-level override: Inspect's MockLLM generates as usual and asks the instance
        # for token counts (for its usage figures), which would otherwise download o200k_base.
        m.api.count_text_tokens = _estimate_tokens  # type: ignore[method-assign]
        return m, MOCKLLM_NOTE
    return m, None


# --------------------------------------------------------------------------- running


def _log_status(log: EvalLog) -> LoggedRun:
    err = None
    if log.status != "success":
        err = log.error.message if log.error is not None else f"Inspect ended the eval as {log.status}"
        err = _short(err.strip().splitlines()[-1] if err.strip() else err, ERROR_EXCERPT)
    return LoggedRun(path=log.location or None, status=log.status, error=err, samples=len(log.samples or []))


def _eval_in_thread(task: Any, **kwargs: Any) -> dict[str, Any]:
    """``inspect_ai.eval`` in a thread of its own: {"logs": [...]} or {"error": exception}."""
    box: dict[str, Any] = {}

    def work() -> None:
        try:
            box["logs"] = inspect_eval(task, **kwargs)
        except BaseException as exc:  # reported to the run, never lost in the thread
            box["error"] = exc

    worker = threading.Thread(target=work, name="frontiersec-eval", daemon=True)
    worker.start()
    worker.join()
    return box


def run_suite(
    *,
    model: Model,
    plan: Mapping[str, Sequence[int]],
    log_dir: Path,
    on_sample: Callable[[SampleOutcome], None],
    run_tag: str,
    max_connections: int | None = None,
    max_samples: int | None = None,
    message_limit: int | None = None,
    tasks_dir: str | None = None,
    sandbox_name: str = SANDBOX,
) -> SuiteOutcome:
    """Run the samples of ``plan`` (task id → the epoch numbers still to run) through Inspect.

    Samples that miss the same epochs run as one Inspect eval (one log); ``on_sample``
    is called from Inspect's event loop as each sample ends. Evals run one at a time
    per process, in a worker thread of their own (so a caller inside an event loop is fine).
    """
    specs = {s.id: s for s in load_tasks(Path(tasks_dir) if tasks_dir else None)}
    unknown = sorted(set(plan) - set(specs))
    if unknown:
        raise KeyError(f"unknown task ids: {', '.join(unknown)}")
    groups: dict[tuple[int, ...], list[str]] = {}
    for task_id, epochs in plan.items():
        if epochs:
            groups.setdefault(tuple(sorted(epochs)), []).append(task_id)
    outcome = SuiteOutcome()
    parallel = max_samples or max(2, 2 * (os.cpu_count() or 1))
    log_dir.mkdir(parents=True, exist_ok=True)
    for epochs, task_ids in groups.items():
        group_specs = [specs[t] for t in sorted(task_ids)]
        kwargs: dict[str, Any] = {}
        if message_limit is not None:
            kwargs["message_limit"] = message_limit
        task = build_task(
            group_specs, tasks_dir=tasks_dir, sandbox_name=sandbox_name, name="cyber_core", **kwargs
        )
        with _lock:
            _listeners[run_tag] = on_sample
            _epoch_maps[run_tag] = dict.fromkeys(task_ids, epochs)
        try:
            with _eval_lock:
                box = _eval_in_thread(
                    task,
                    model=model,
                    epochs=len(epochs),
                    log_dir=str(log_dir),
                    max_connections=max_connections,
                    max_samples=parallel,
                    max_sandboxes=parallel,
                    max_subprocesses=parallel,
                    display="none",
                    fail_on_error=False,
                    log_level="warning",
                    score_display=False,
                    metadata={RUN_TAG_KEY: run_tag},
                )
        finally:
            with _lock:
                _listeners.pop(run_tag, None)
                _epoch_maps.pop(run_tag, None)
                for eid in [e for e, t in _eval_tags.items() if t == run_tag]:
                    del _eval_tags[eid]
        if "error" in box:
            exc = box["error"]
            outcome.logs.append(
                LoggedRun(
                    path=None, status="error", error=f"{type(exc).__name__}: {exc}"[:ERROR_EXCERPT], samples=0
                )
            )
            break
        for log in box.get("logs", []):
            outcome.logs.append(_log_status(log))
    return outcome


# --------------------------------------------------------------------------- reading logs


@dataclass(frozen=True)
class ReadLog:
    """An Inspect log read for import."""

    task: str
    model: str
    status: str
    eval_id: str
    run_id: str
    created: str
    samples: list[SampleOutcome]


def read_log(path: Path, families: Mapping[str, str]) -> ReadLog:
    """Read an Inspect ``.eval``/``.json`` log; ``families`` maps our task ids to their family.

    A sample whose task id is in ``families`` gets that family; any other gets
    ``external:<task name of the log>``. Raises :class:`LogReadError` for anything that
    is not a readable log with at least one sample.
    """
    try:
        log = read_eval_log(str(path))
    except Exception as exc:  # Inspect raises zip, JSON and validation errors alike
        raise LogReadError(f"not a readable Inspect log ({type(exc).__name__}: {str(exc)[:300]})") from exc
    if not log.samples:
        raise LogReadError(f"the log holds no samples (status {log.status})")
    task = log.eval.task.split("/")[-1]
    rows: list[SampleOutcome] = []
    for sample in log.samples:
        meta = sample.metadata or {}
        tid = str(meta.get("task_id") or sample.id)
        if tid in families:
            rows.append(_outcome(sample, family=families[tid]))
        else:
            rows.append(_outcome(sample, family=f"external:{task}", task_name=task))
    return ReadLog(
        task=task,
        model=log.eval.model,
        status=log.status,
        eval_id=log.eval.eval_id,
        run_id=log.eval.run_id,
        created=str(log.eval.created),
        samples=rows,
    )

"""Capability profiles: each family's success rate with its 95% interval, per model version,
and the paired comparison of two model versions on the samples both attempted.

A profile pools every finished run (``succeeded`` or ``partial``) of the model version that
the principal may see. Only scored samples count (a sample that failed to run is not a 0).
When a sample appears once, the interval is Wilson's; when it repeats (epochs, or several
runs) the scores of one sample are correlated and the interval uses clustered standard
errors with the sample as the cluster (``evals.stats.family_rate``). The comparison pairs
the two models sample by sample: exact McNemar on the discordant samples and a paired
bootstrap interval for the difference (``evals.stats.paired_comparison``).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from frontiersec.evals import stats
from frontiersec.evals.catalog import FAMILIES
from frontiersec.evals.common import IDENTITY_RE
from frontiersec.evals.models import EvalRun, EvalSample
from frontiersec.platform.audit.service import record_read
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.auth.visibility import visible_clause
from frontiersec.platform.errors import InvalidInput, NotFound

__all__ = [
    "FINISHED",
    "CapabilityProfile",
    "Comparison",
    "FamilyComparison",
    "FamilyResult",
    "ProfileSummary",
    "RunRef",
    "capability_profile",
    "compare_profiles",
    "family_results",
    "list_profiles",
    "parse_identity",
    "run_families",
]

FINISHED = ("succeeded", "partial")
N_RESAMPLES = 10_000
SEED = 0


@dataclass(frozen=True)
class FamilyResult:
    """One family's success rate with its 95% interval; ``method`` is ``wilson`` or ``clustered``."""

    family: str
    successes: int
    n: int
    rate: float
    low: float
    high: float
    method: str


@dataclass(frozen=True)
class RunRef:
    """A run a profile rests on, with the SHA-256 of its (last) Inspect log."""

    id: uuid.UUID
    model: str
    log_sha256: str
    finished_at: dt.datetime
    samples: int


@dataclass(frozen=True)
class CapabilityProfile:
    """A model version's capability: every family evaluated, and the runs behind it."""

    model_name: str
    model_version: str
    families: dict[str, FamilyResult]
    runs: list[RunRef]


@dataclass(frozen=True)
class ProfileSummary:
    """One model version with finished runs (the profiles list)."""

    model_name: str
    model_version: str
    runs: int
    last_finished: dt.datetime | None


@dataclass(frozen=True)
class FamilyComparison:
    """Two models on one family (or ``overall``): each one's own rate, and the paired test on
    the ``shared`` samples both attempted (``diff`` = rate(A) - rate(B) on them)."""

    family: str
    a: FamilyResult | None
    b: FamilyResult | None
    shared: int
    diff: float | None
    low: float | None
    high: float | None
    p_value: float | None
    a_only: int
    b_only: int


@dataclass(frozen=True)
class Comparison:
    """Side by side: per family and overall, with the bootstrap's settings."""

    a: CapabilityProfile
    b: CapabilityProfile
    families: list[FamilyComparison]
    overall: FamilyComparison
    n_resamples: int
    seed: int


Scored = tuple[str, str, str, float]  # (family, sample key, repetition key, score)


def family_results(scored: Iterable[Scored]) -> dict[str, FamilyResult]:
    """Rate and 95% interval per family from ``(family, sample, repetition, score)`` rows.

    Pure (no database): ``stats.family_rate`` picks Wilson when each sample appears once
    with a 0/1 score, clustered standard errors otherwise.
    """
    by_family: dict[str, list[tuple[str, int, float]]] = defaultdict(list)
    reps: dict[str, int] = {}
    for family, sample, rep, score in scored:
        by_family[family].append((sample, reps.setdefault(rep, len(reps)), score))
    out: dict[str, FamilyResult] = {}
    for family in sorted(by_family, key=_family_order):
        rows = by_family[family]
        est = stats.family_rate(rows)
        out[family] = FamilyResult(
            family=family,
            successes=round(sum(s for _id, _rep, s in rows)),
            n=est.n,
            rate=est.rate,
            low=est.low,
            high=est.high,
            method="wilson" if est.method == "wilson" else "clustered",
        )
    return out


def _family_order(family: str) -> tuple[int, str]:
    return (FAMILIES.index(family), family) if family in FAMILIES else (len(FAMILIES), family)


def _finished_runs(session: Session, principal: Principal, name: str, version: str) -> list[EvalRun]:
    return list(
        session.execute(
            select(EvalRun)
            .where(
                EvalRun.model_name == name,
                EvalRun.model_version == version,
                EvalRun.status.in_(FINISHED),
                visible_clause(EvalRun, "eval_run", principal),
            )
            .order_by(EvalRun.finished_at)
        ).scalars()
    )


def _scored_rows(session: Session, runs: list[EvalRun]) -> list[tuple[uuid.UUID, EvalSample]]:
    if not runs:
        return []
    ids = [r.id for r in runs]
    rows = session.execute(
        select(EvalSample).where(EvalSample.run_id.in_(ids), EvalSample.score.is_not(None))
    ).scalars()
    return [(r.run_id, r) for r in rows]


def _profile(
    session: Session, principal: Principal, name: str, version: str
) -> tuple[CapabilityProfile, list[tuple[uuid.UUID, EvalSample]]]:
    runs = _finished_runs(session, principal, name, version)
    if not runs:
        raise NotFound(f"no finished evaluation runs of {name} {version} that you may see")
    rows = _scored_rows(session, runs)
    multi = len(runs) > 1
    families = family_results(
        (
            s.family,
            s.task_id,
            f"{run_id}:{s.epoch}" if multi else str(s.epoch),
            float(s.score if s.score is not None else 0.0),
        )
        for run_id, s in rows
    )
    for run in runs:
        record_read(session, principal, object_type="eval_run", object_id=run.id, tlp=run.tlp)
    refs = [
        RunRef(
            id=r.id,
            model=r.model,
            log_sha256=r.log_sha256 or "",
            finished_at=r.finished_at or r.updated_at,
            samples=r.samples_done,
        )
        for r in runs
    ]
    return CapabilityProfile(model_name=name, model_version=version, families=families, runs=refs), rows


def capability_profile(
    session: Session, principal: Principal, model_name: str, model_version: str
) -> CapabilityProfile:
    """The capability profile of one model version over the finished runs the principal may see.

    Raises ``NotFound`` when there is none (also for a model whose runs are not shared with
    the principal's organisation).
    """
    return _profile(session, principal, model_name, model_version)[0]


def run_families(session: Session, run: EvalRun) -> dict[str, FamilyResult]:
    """Per-family rates over one run's scored samples (the caller has checked visibility)."""
    rows = session.execute(
        select(EvalSample).where(EvalSample.run_id == run.id, EvalSample.score.is_not(None))
    ).scalars()
    return family_results((s.family, s.task_id, str(s.epoch), float(s.score or 0.0)) for s in rows)


def list_profiles(session: Session, principal: Principal) -> list[ProfileSummary]:
    """Every model version with at least one finished run the principal may see."""
    rows = session.execute(
        select(
            EvalRun.model_name, EvalRun.model_version, func.count(EvalRun.id), func.max(EvalRun.finished_at)
        )
        .where(EvalRun.status.in_(FINISHED), visible_clause(EvalRun, "eval_run", principal))
        .group_by(EvalRun.model_name, EvalRun.model_version)
        .order_by(func.max(EvalRun.finished_at).desc())
    ).all()
    return [ProfileSummary(n, v, int(c), last) for n, v, c, last in rows]


def parse_identity(value: str, field: str) -> tuple[str, str]:
    """``NAME@VERSION`` → (name, version), or a precise error on ``field``."""
    name, sep, version = value.strip().rpartition("@")
    if not sep or not IDENTITY_RE.match(name) or not IDENTITY_RE.match(version):
        raise InvalidInput.on(field, "must be MODEL_NAME@MODEL_VERSION, e.g. SmolLM2-135M-Instruct@1.0")
    return name, version


def _per_sample(rows: list[tuple[uuid.UUID, EvalSample]]) -> dict[str, tuple[str, list[float]]]:
    out: dict[str, tuple[str, list[float]]] = {}
    for _run, s in rows:
        _family, scores = out.setdefault(s.task_id, (s.family, []))
        scores.append(float(s.score if s.score is not None else 0.0))
    return out


def _paired(
    family: str,
    a: FamilyResult | None,
    b: FamilyResult | None,
    pa: dict[str, list[float]],
    pb: dict[str, list[float]],
    n_resamples: int,
    seed: int,
) -> FamilyComparison:
    shared = sorted(set(pa) & set(pb))
    if not shared:
        return FamilyComparison(family, a, b, 0, None, None, None, None, 0, 0)
    res = stats.paired_comparison(
        {k: pa[k] for k in shared}, {k: pb[k] for k in shared}, n_resamples=n_resamples, seed=seed
    )
    return FamilyComparison(
        family, a, b, res.n, res.diff, res.low, res.high, res.p_value, res.a_only, res.b_only
    )


def compare_profiles(
    session: Session,
    principal: Principal,
    a: tuple[str, str],
    b: tuple[str, str],
    *,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
) -> Comparison:
    """Compare two model versions family by family and overall, paired on shared samples."""
    prof_a, rows_a = _profile(session, principal, *a)
    prof_b, rows_b = _profile(session, principal, *b)
    sa, sb = _per_sample(rows_a), _per_sample(rows_b)
    fams = sorted(set(prof_a.families) | set(prof_b.families), key=_family_order)
    families = [
        _paired(
            f,
            prof_a.families.get(f),
            prof_b.families.get(f),
            {k: v for k, (fam, v) in sa.items() if fam == f},
            {k: v for k, (fam, v) in sb.items() if fam == f},
            n_resamples,
            seed,
        )
        for f in fams
    ]
    overall_a = family_results(
        ("overall", k, str(i), s) for k, (_f, v) in sa.items() for i, s in enumerate(v)
    )
    overall_b = family_results(
        ("overall", k, str(i), s) for k, (_f, v) in sb.items() for i, s in enumerate(v)
    )
    overall = _paired(
        "overall",
        overall_a.get("overall"),
        overall_b.get("overall"),
        {k: v for k, (_f, v) in sa.items()},
        {k: v for k, (_f, v) in sb.items()},
        n_resamples,
        seed,
    )
    return Comparison(prof_a, prof_b, families, overall, n_resamples, seed)

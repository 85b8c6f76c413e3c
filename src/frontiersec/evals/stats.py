"""Statistics for capability evaluations: intervals, pass@k and paired comparisons.

Pure functions over plain numbers (numpy and scipy only, no I/O). Every estimate
says which method produced it, so a capability profile can be audited later.

Methods and their sources:

* ``wilson_interval`` — the Wilson (1927) score interval without continuity
  correction (method 3 in Newcombe, *Statistics in Medicine* 17:857-872, 1998).
* ``clustered_standard_error`` / ``family_rate`` — when a sample is run for several
  epochs its scores are correlated, so the standard error of the mean is computed
  with the cluster-robust formula (cluster = sample id) of Miller, "Adding Error Bars
  to Evals: A Statistical Approach to Language Model Evaluations" (Anthropic, 2024,
  arXiv:2411.00640), eq. for SE_clustered; the interval is the normal one,
  clipped to [0, 1].
* ``pass_at_k`` — the unbiased estimator of Chen et al. (2021), "Evaluating Large
  Language Models Trained on Code", in its numerically stable product form.
* ``mcnemar_exact`` — the exact conditional McNemar test: a two-sided binomial test
  of the discordant pairs against p = 1/2 (Fagerland, Lydersen & Laake, BMC Med Res
  Methodol 13:91, 2013, eq. 1).
* ``paired_bootstrap_diff`` — a percentile bootstrap interval for the difference in
  success rates of two models on the same samples; the resampling unit is the
  *sample* (all epochs of a sample travel together), drawn with a seeded
  ``numpy.random.Generator`` so results are reproducible.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats as _sp

__all__ = [
    "Interval",
    "PairedComparison",
    "RateEstimate",
    "clustered_standard_error",
    "family_rate",
    "mcnemar_exact",
    "paired_bootstrap_diff",
    "paired_comparison",
    "pass_at_k",
    "wilson_interval",
]

RateMethod = Literal["wilson", "clustered_se"]


@dataclass(frozen=True, slots=True)
class Interval:
    """A confidence interval around a point estimate, all on the [0, 1] scale."""

    low: float
    high: float
    point: float


@dataclass(frozen=True, slots=True)
class RateEstimate:
    """A success rate for a family of tasks with its confidence interval.

    ``n`` counts scored attempts (sample x epoch), ``n_clusters`` distinct samples;
    ``method`` names how the interval was computed (``wilson`` or ``clustered_se``).
    """

    rate: float
    low: float
    high: float
    n: int
    n_clusters: int
    method: RateMethod
    confidence: float = 0.95


@dataclass(frozen=True, slots=True)
class PairedComparison:
    """Model A against model B on the same samples.

    ``diff`` is rate(A) - rate(B); ``low``/``high`` its paired-bootstrap interval;
    ``a_only`` / ``b_only`` are the discordant pairs (A succeeded and B failed, and
    the reverse) that the exact McNemar ``p_value`` is computed from.
    """

    diff: float
    low: float
    high: float
    p_value: float
    a_only: int
    b_only: int
    n: int
    n_resamples: int
    seed: int


def _z(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    return float(_sp.norm.ppf(1.0 - (1.0 - confidence) / 2.0))


def _clip01(x: float) -> float:
    return min(1.0, max(0.0, x))


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> Interval:
    """Wilson score interval for a binomial proportion (no continuity correction).

    Args:
        successes: number of successes, ``0 <= successes <= n``.
        n: number of trials, ``n >= 1``.
        confidence: two-sided confidence level, e.g. 0.95.

    Returns:
        ``Interval(low, high, point)`` with ``point = successes / n``.
    """
    if n < 1:
        raise ValueError("n must be at least 1")
    if not 0 <= successes <= n:
        raise ValueError(f"successes must be in [0, n], got {successes} of {n}")
    z = _z(confidence)
    p = successes / n
    z2 = z * z
    denom = 1.0 + z2 / n
    centre = (p + z2 / (2.0 * n)) / denom
    half = (z / denom) * math.sqrt(p * (1.0 - p) / n + z2 / (4.0 * n * n))
    # The exact bounds at the edges are 0 and 1; floating point may miss them by an ulp.
    low = 0.0 if successes == 0 else _clip01(centre - half)
    high = 1.0 if successes == n else _clip01(centre + half)
    return Interval(low=low, high=high, point=p)


def clustered_standard_error(scores: Sequence[float], clusters: Sequence[Hashable]) -> float:
    """Cluster-robust standard error of the mean of ``scores``.

    Implements Miller (2024), "Adding Error Bars to Evals", SE_clustered:

        SE^2 = SE_CLT^2 + (1/n^2) * sum_c sum_i sum_{j != i} (s_ic - s̄)(s_jc - s̄)

    where ``SE_CLT^2 = sum_i (s_i - s̄)^2 / (n (n - 1))`` is the ordinary standard error
    and the second term adds the within-cluster covariance. With one score per
    cluster it reduces to ``SE_CLT``. The result is floored at zero (the cross term
    can be negative when scores within a cluster are anti-correlated).

    Args:
        scores: one score per attempt, typically 0/1.
        clusters: the cluster (sample id) of each score, same length.
    """
    if len(scores) != len(clusters):
        raise ValueError("scores and clusters must have the same length")
    n = len(scores)
    if n < 2:
        return 0.0
    s = np.asarray(scores, dtype=float)
    resid = s - s.mean()
    se_clt2 = float(np.sum(resid * resid)) / (n * (n - 1))
    sums: dict[Hashable, float] = {}
    sq: dict[Hashable, float] = {}
    for cid, r in zip(clusters, resid.tolist(), strict=True):
        sums[cid] = sums.get(cid, 0.0) + r
        sq[cid] = sq.get(cid, 0.0) + r * r
    # sum_{i != j} r_i r_j = (sum_i r_i)^2 - sum_i r_i^2, per cluster.
    cross = sum(sums[c] * sums[c] - sq[c] for c in sums)
    return math.sqrt(max(0.0, se_clt2 + cross / (n * n)))


def family_rate(scores: Sequence[tuple[Hashable, int, float]], confidence: float = 0.95) -> RateEstimate:
    """Success rate of a task family with a confidence interval.

    Args:
        scores: ``(sample_id, epoch, score)`` triples, scores in [0, 1].
        confidence: two-sided confidence level.

    Returns:
        When every sample appears once and scores are 0/1, the Wilson interval
        (``method="wilson"``); otherwise (samples repeated over epochs, or fractional
        scores) the mean with a clustered-SE normal interval clipped to [0, 1]
        (``method="clustered_se"``).
    """
    if not scores:
        raise ValueError("no scores")
    ids = [sid for sid, _epoch, _s in scores]
    values = [float(s) for _sid, _epoch, s in scores]
    if any(not 0.0 <= v <= 1.0 for v in values):
        raise ValueError("scores must lie in [0, 1]")
    seen = set()
    for sid, epoch, _s in scores:
        if (sid, epoch) in seen:
            raise ValueError(f"duplicate (sample_id, epoch): {(sid, epoch)!r}")
        seen.add((sid, epoch))
    n = len(values)
    n_clusters = len(set(ids))
    binary = all(v in (0.0, 1.0) for v in values)
    if n_clusters == n and binary:
        iv = wilson_interval(round(sum(values)), n, confidence)
        return RateEstimate(iv.point, iv.low, iv.high, n, n_clusters, "wilson", confidence)
    mean = float(np.mean(values))
    se = clustered_standard_error(values, ids)
    z = _z(confidence)
    return RateEstimate(
        mean, _clip01(mean - z * se), _clip01(mean + z * se), n, n_clusters, "clustered_se", confidence
    )


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k estimator of Chen et al. (2021).

    ``1 - C(n - c, k) / C(n, k)``, evaluated as ``1 - prod_{i=n-c+1}^{n} (1 - k / i)``
    to avoid huge binomial coefficients.

    Args:
        n: samples generated for the problem.
        c: how many of them are correct, ``0 <= c <= n``.
        k: the k in pass@k, ``1 <= k <= n``.
    """
    if not 0 <= c <= n:
        raise ValueError("need 0 <= c <= n")
    if not 1 <= k <= n:
        raise ValueError("need 1 <= k <= n")
    if n - c < k:
        return 1.0
    return float(1.0 - np.prod(1.0 - k / np.arange(n - c + 1, n + 1, dtype=float)))


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided exact (conditional) McNemar p-value.

    Conditional on the ``a_only + b_only`` discordant pairs, ``a_only`` is
    Binomial(a_only + b_only, 1/2) under the null; the p-value is
    ``min(1, 2 * P(X <= min(a_only, b_only)))``, and 1 when there are no discordant pairs.
    """
    if a_only < 0 or b_only < 0:
        raise ValueError("counts must be non-negative")
    m = a_only + b_only
    if m == 0:
        return 1.0
    return float(min(1.0, 2.0 * _sp.binom.cdf(min(a_only, b_only), m, 0.5)))


def _per_sample(scores: Mapping[Hashable, float | Sequence[float]]) -> dict[Hashable, float]:
    out: dict[Hashable, float] = {}
    for sid, v in scores.items():
        if isinstance(v, int | float):
            out[sid] = float(v)
        else:
            vals = [float(x) for x in v]
            if not vals:
                raise ValueError(f"sample {sid!r} has no scores")
            out[sid] = float(np.mean(vals))
    return out


def paired_bootstrap_diff(
    a: Sequence[float],
    b: Sequence[float],
    *,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """Percentile bootstrap interval for ``mean(a) - mean(b)`` over paired samples.

    ``a[i]`` and ``b[i]`` are the two models' scores on the same sample ``i`` (a
    per-sample mean when there are several epochs). Each resample draws *samples*
    with replacement, keeping each pair together, with
    ``numpy.random.default_rng(seed)``.
    """
    if len(a) != len(b):
        raise ValueError("a and b must be paired (same length)")
    if not a:
        raise ValueError("no samples")
    if n_resamples < 1:
        raise ValueError("n_resamples must be positive")
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, len(d), size=(n_resamples, len(d)))
    boots = d[idx].mean(axis=1)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence!r}")
    alpha = 1.0 - confidence
    low, high = np.quantile(boots, [alpha / 2.0, 1.0 - alpha / 2.0])
    return Interval(low=float(low), high=float(high), point=float(d.mean()))


def paired_comparison(
    a: Mapping[Hashable, float | Sequence[float]],
    b: Mapping[Hashable, float | Sequence[float]],
    *,
    n_resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> PairedComparison:
    """Compare two models on the same samples: exact McNemar + paired bootstrap.

    Args:
        a, b: per model, ``sample_id -> score`` (0/1) or ``sample_id -> [score per epoch]``.
            Both must cover exactly the same sample ids.
        n_resamples, confidence, seed: for the bootstrap interval of rate(A) - rate(B).

    For McNemar, a sample counts as a success for a model when its per-sample mean
    score is at least 0.5 (with one 0/1 score per sample this is the score itself).
    """
    pa, pb = _per_sample(a), _per_sample(b)
    if set(pa) != set(pb):
        raise ValueError("both models must be scored on the same sample ids")
    keys = sorted(pa, key=repr)
    xa = [pa[k] for k in keys]
    xb = [pb[k] for k in keys]
    a_only = sum(1 for x, y in zip(xa, xb, strict=True) if x >= 0.5 > y)
    b_only = sum(1 for x, y in zip(xa, xb, strict=True) if y >= 0.5 > x)
    iv = paired_bootstrap_diff(xa, xb, n_resamples=n_resamples, confidence=confidence, seed=seed)
    return PairedComparison(
        diff=iv.point,
        low=iv.low,
        high=iv.high,
        p_value=mcnemar_exact(a_only, b_only),
        a_only=a_only,
        b_only=b_only,
        n=len(keys),
        n_resamples=n_resamples,
        seed=seed,
    )

"""Known-answer and property tests for ``frontiersec.evals.stats``.

Known answers come from published worked examples (cited per case), or are checked by
hand from the definition; never from this module's own output.
"""

from __future__ import annotations

import math
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from frontiersec.evals.stats import (
    clustered_standard_error,
    family_rate,
    mcnemar_exact,
    paired_bootstrap_diff,
    paired_comparison,
    pass_at_k,
    wilson_interval,
)

# Newcombe RG (1998). Two-sided confidence intervals for the single proportion:
# comparison of seven methods. Statistics in Medicine 17:857-872. Worked examples,
# method 3 (Wilson score interval without continuity correction), 95% limits to 4 dp.
NEWCOMBE_1998_WILSON = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0000, 0.1611),
    (1, 29, 0.0061, 0.1718),
]


@pytest.mark.parametrize(("x", "n", "low", "high"), NEWCOMBE_1998_WILSON)
def test_wilson_matches_newcombe_1998(x: int, n: int, low: float, high: float) -> None:
    iv = wilson_interval(x, n)
    assert iv.low == pytest.approx(low, abs=5e-5)
    assert iv.high == pytest.approx(high, abs=5e-5)
    assert iv.point == x / n


def test_wilson_all_successes_mirror_all_failures() -> None:
    # 20/20 is 0/20 reflected: (1 - 0.1611, 1) by the symmetry of the score interval.
    iv = wilson_interval(20, 20)
    assert iv.high == 1.0
    assert iv.low == pytest.approx(1 - 0.1611, abs=5e-5)


# Fagerland MW, Lydersen S, Laake P (2013). The McNemar test for binary matched-pairs
# data: mid-p and asymptotic are better than exact conditional. BMC Med Res Methodol
# 13:91. Table 1 (Bentur et al. 2009, airway hyper-responsiveness before/after stem
# cell transplantation, 21 children): discordant pairs n12 = 1, n21 = 7; the paper
# reports the McNemar exact conditional p-value 0.070. By hand (their eq. 1):
# 2 * P(X <= 1 | Bin(8, 1/2)) = 2 * (1 + 8) / 256 = 18/256 = 0.0703125.
def test_mcnemar_exact_fagerland_2013_example() -> None:
    p = mcnemar_exact(1, 7)
    assert round(p, 3) == 0.070
    assert p == pytest.approx(18 / 256, rel=1e-12)


def test_mcnemar_exact_edge_cases_by_hand() -> None:
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(5, 5) == 1.0  # 2 * P(X <= 5 | Bin(10, 1/2)) > 1, clipped
    assert mcnemar_exact(0, 10) == pytest.approx(2 / 1024)


def _pass_at_k_by_definition(n: int, c: int, k: int) -> Fraction:
    return 1 - Fraction(math.comb(n - c, k), math.comb(n, k))


@pytest.mark.parametrize(
    ("n", "c", "k", "expected"),
    [
        # 1 - C(3,1)/C(5,1) = 1 - 3/5
        (5, 2, 1, Fraction(2, 5)),
        # 1 - C(3,2)/C(5,2) = 1 - 3/10
        (5, 2, 2, Fraction(7, 10)),
        # 1 - C(8,5)/C(10,5) = 1 - 56/252 = 7/9
        (10, 2, 5, Fraction(7, 9)),
        # n - c < k: every k-subset holds a correct sample
        (10, 8, 3, Fraction(1)),
        (10, 0, 3, Fraction(0)),
    ],
)
def test_pass_at_k_closed_form(n: int, c: int, k: int, expected: Fraction) -> None:
    assert pass_at_k(n, c, k) == pytest.approx(float(expected), abs=1e-12)


@given(st.integers(1, 60).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n), st.integers(1, n))))
def test_pass_at_k_equals_definition(nck: tuple[int, int, int]) -> None:
    n, c, k = nck
    assert pass_at_k(n, c, k) == pytest.approx(float(_pass_at_k_by_definition(n, c, k)), abs=1e-9)


@given(st.integers(1, 200).flatmap(lambda n: st.tuples(st.just(n), st.integers(0, n))))
def test_pass_at_1_is_fraction_correct(nc: tuple[int, int]) -> None:
    n, c = nc
    assert pass_at_k(n, c, 1) == pytest.approx(c / n, abs=1e-12)


def test_pass_at_k_is_stable_for_large_n() -> None:
    # C(10000, 100) overflows a float; the product form does not.
    v = pass_at_k(10_000, 1, 100)
    assert v == pytest.approx(100 / 10_000, rel=1e-9)  # 1 - (n-1 choose k)/(n choose k) = k/n


@given(
    st.integers(1, 2000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.sampled_from([0.8, 0.9, 0.95, 0.99]),
)
def test_wilson_properties(xn: tuple[int, int], conf: float) -> None:
    x, n = xn
    iv = wilson_interval(x, n, conf)
    assert 0.0 <= iv.low <= iv.point <= iv.high <= 1.0


@given(st.integers(0, 300), st.integers(0, 300))
def test_mcnemar_symmetric_and_valid(b: int, c: int) -> None:
    p = mcnemar_exact(b, c)
    assert p == mcnemar_exact(c, b)
    assert 0.0 < p <= 1.0


def test_clustered_se_reduces_to_clt_with_singleton_clusters() -> None:
    # scores 1,0,1,1: mean 3/4, sum of squared residuals 3/4, SE^2 = (3/4)/(4*3) = 1/16.
    assert clustered_standard_error([1, 0, 1, 1], ["a", "b", "c", "d"]) == pytest.approx(0.25)


def test_clustered_se_by_hand_with_repeated_samples() -> None:
    # two samples x two epochs, perfectly correlated within a sample: a=(1,1), b=(0,0).
    # mean 1/2, residuals ±1/2; SE_CLT^2 = 1/(4*3) = 1/12;
    # cross term: sum_c [(sum r)^2 - sum r^2] = (1 - 1/2) + (1 - 1/2) = 1, / n^2 = 1/16.
    se = clustered_standard_error([1, 1, 0, 0], ["a", "a", "b", "b"])
    assert se == pytest.approx(math.sqrt(1 / 12 + 1 / 16))
    assert se > clustered_standard_error([1, 1, 0, 0], ["a", "b", "c", "d"])


def test_family_rate_uses_wilson_for_single_epoch() -> None:
    scores = [(f"s{i}", 0, 1.0 if i < 81 else 0.0) for i in range(263)]
    est = family_rate(scores)
    assert est.method == "wilson"
    assert (est.n, est.n_clusters) == (263, 263)
    assert est.low == pytest.approx(0.2553, abs=5e-5)
    assert est.high == pytest.approx(0.3662, abs=5e-5)


def test_family_rate_uses_clustered_se_for_epochs() -> None:
    scores = [("a", 0, 1.0), ("a", 1, 1.0), ("b", 0, 0.0), ("b", 1, 0.0)]
    est = family_rate(scores)
    assert est.method == "clustered_se"
    assert (est.n, est.n_clusters) == (4, 2)
    z = 1.959963984540054
    se = math.sqrt(1 / 12 + 1 / 16)
    assert est.rate == 0.5
    assert est.low == pytest.approx(max(0.0, 0.5 - z * se))
    assert est.high == pytest.approx(min(1.0, 0.5 + z * se))


def test_family_rate_rejects_duplicates_and_bad_scores() -> None:
    with pytest.raises(ValueError, match="duplicate"):
        family_rate([("a", 0, 1.0), ("a", 0, 0.0)])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        family_rate([("a", 0, 2.0)])


@given(
    st.lists(
        st.tuples(st.integers(0, 9), st.integers(0, 4), st.sampled_from([0.0, 1.0])),
        min_size=1,
        max_size=50,
        unique_by=lambda t: (t[0], t[1]),
    )
)
def test_family_rate_properties(scores: list[tuple[int, int, float]]) -> None:
    est = family_rate(scores)
    assert 0.0 <= est.low <= est.rate <= est.high <= 1.0


def test_paired_comparison_is_seeded_and_sample_resampled() -> None:
    a = {f"s{i}": 1.0 if i < 30 else 0.0 for i in range(40)}
    b = {f"s{i}": 1.0 if i < 20 else 0.0 for i in range(40)}
    r1 = paired_comparison(a, b, seed=7, n_resamples=2000)
    r2 = paired_comparison(a, b, seed=7, n_resamples=2000)
    assert r1 == r2
    assert (r1.a_only, r1.b_only) == (10, 0)
    assert r1.diff == pytest.approx(0.25)
    assert r1.p_value == pytest.approx(2 / 1024)  # 2 * P(X <= 0 | Bin(10, 1/2))
    assert r1.low <= 0.25 <= r1.high
    assert r1.low > 0  # every resample has a non-negative difference, most positive


def test_paired_comparison_averages_epochs_and_needs_same_samples() -> None:
    r = paired_comparison({"x": [1, 1], "y": [0, 0]}, {"x": [0, 0], "y": [0, 0]}, n_resamples=100)
    assert r.diff == pytest.approx(0.5)
    with pytest.raises(ValueError, match="same sample ids"):
        paired_comparison({"x": 1.0}, {"y": 1.0})


def test_paired_bootstrap_identical_models_give_zero() -> None:
    iv = paired_bootstrap_diff([1, 0, 1], [1, 0, 1], n_resamples=500)
    assert (iv.low, iv.point, iv.high) == (0.0, 0.0, 0.0)

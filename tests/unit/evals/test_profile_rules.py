"""Pure parts of runs and profiles: the sample plan of a (resumed) run, model identities,
per-family intervals (delegated to ``evals.stats``) and the chart's geometry."""

from __future__ import annotations

import pytest

from frontiersec.evals import stats
from frontiersec.evals.catalog import load_tasks
from frontiersec.evals.common import check_identity, default_identity
from frontiersec.evals.profile import FamilyResult, family_results, parse_identity
from frontiersec.evals.runs import plan_samples
from frontiersec.evals.web import LABEL_W, PLOT_W, interval_chart
from frontiersec.platform.errors import InvalidInput


def test_plan_skips_exactly_the_scored_task_epochs() -> None:
    specs = load_tasks()[:3]
    a, b, c = (s.id for s in specs)
    plan = plan_samples(specs, 2, {(a, 1), (a, 2), (b, 2)})
    assert plan == {b: [1], c: [1, 2]}
    assert plan_samples(specs, 1, {(a, 1), (b, 1), (c, 1)}) == {}


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("mockllm/model", "mockllm-model"),
        ("openai/SmolLM2-135M-Instruct", "openai-SmolLM2-135M-Instruct"),
        ("openai-api/vllm/meta-llama/Llama-3.1-8B", "openai-api-vllm-meta-llama-Llama-3.1-8B"),
        ("hf/org/model@rev", "hf-org-model-rev"),
    ],
)
def test_default_identity_is_a_valid_profile_name(model: str, expected: str) -> None:
    name, version = default_identity(model)
    assert (name, version) == (expected, "unversioned")
    assert check_identity(name, version) == []


def test_identity_rules() -> None:
    assert [e.field for e in check_identity("a/b", "1@2")] == ["model_name", "model_version"]
    assert parse_identity("SmolLM2-135M-Instruct@1.0", "a") == ("SmolLM2-135M-Instruct", "1.0")
    with pytest.raises(InvalidInput) as exc:
        parse_identity("no-version", "b")
    assert exc.value.errors[0].field == "b"


def test_family_results_use_wilson_for_single_samples() -> None:
    rows = [("discovery", f"t{i}", "1", 1.0 if i < 3 else 0.0) for i in range(7)]
    rows.append(("patching", "p1", "1", 0.0))
    out = family_results(rows)
    assert list(out) == ["discovery", "patching"]
    d = out["discovery"]
    iv = stats.wilson_interval(3, 7)
    assert (d.successes, d.n, d.method) == (3, 7, "wilson")
    assert (d.rate, d.low, d.high) == pytest.approx((iv.point, iv.low, iv.high))


def test_family_results_cluster_repeated_samples() -> None:
    rows = [
        ("exploitation", "a", "run1:1", 1.0),
        ("exploitation", "a", "run2:1", 1.0),
        ("exploitation", "b", "run1:1", 0.0),
        ("exploitation", "b", "run2:1", 1.0),
        ("exploitation", "c", "run1:1", 0.0),
        ("exploitation", "c", "run2:1", 0.0),
    ]
    (res,) = family_results(rows).values()
    ref = stats.family_rate(
        [("a", 0, 1.0), ("a", 1, 1.0), ("b", 0, 0.0), ("b", 1, 1.0), ("c", 0, 0.0), ("c", 1, 0.0)]
    )
    assert res.method == "clustered"
    assert (res.n, res.rate, res.low, res.high) == pytest.approx((6, ref.rate, ref.low, ref.high))


def _fr(family: str, rate: float, low: float, high: float) -> FamilyResult:
    return FamilyResult(family, round(rate * 10), 10, rate, low, high, "wilson")


def test_chart_places_points_and_intervals_on_the_0_to_100_axis() -> None:
    chart = interval_chart([("m 1", {"discovery": _fr("discovery", 0.5, 0.2, 0.8)})], ["discovery"])
    (bar,) = chart.bars
    assert (bar.x, bar.x_low, bar.x_high) == pytest.approx(
        (LABEL_W + 0.5 * PLOT_W, LABEL_W + 0.2 * PLOT_W, LABEL_W + 0.8 * PLOT_W)
    )
    assert [t for _x, t in chart.ticks] == ["0%", "25%", "50%", "75%", "100%"]
    assert chart.headers == []
    assert chart.legend == []
    two = interval_chart(
        [
            ("a", {"discovery": _fr("discovery", 1, 0.7, 1)}),
            ("b", {"discovery": _fr("discovery", 0, 0, 0.3)}),
        ],
        ["discovery", "patching"],
    )
    assert [h for h, _y in two.headers] == ["discovery", "patching"]
    assert [b.label for b in two.bars] == ["a", "b"]  # patching has no results: header only
    assert [name for name, _c in two.legend] == ["a", "b"]

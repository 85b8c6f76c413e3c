"""Evals pages: runs (list, new-run form, live progress, samples), capability profiles with an
interval chart, and the side-by-side comparison of two model versions."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from frontiersec.evals import profile as profiles
from frontiersec.evals import runs
from frontiersec.evals.catalog import FAMILIES, SUITE_NAME, load_tasks
from frontiersec.evals.common import require_runner
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.errors import InvalidInput, PermissionDenied
from frontiersec.platform.http import DbSession, WebPrincipal, get_runtime
from frontiersec.platform.web import templates

__all__ = ["dashboard_card", "interval_chart", "router"]

router = APIRouter(include_in_schema=False)

# Chart geometry (SVG user units = CSS pixels at full width): label column, plot, value column.
CHART_W, LABEL_W, VALUE_W, ROW_H, HEADER_H, TOP, BOTTOM = 900, 180, 230, 30, 26, 10, 34
PLOT_W = CHART_W - LABEL_W - VALUE_W
SERIES_COLOURS = ("#1f4e8c", "#c25e00")


@dataclass(frozen=True)
class Bar:
    """One interval bar of the chart (coordinates in SVG units)."""

    label: str
    y: float
    x: float
    x_low: float
    x_high: float
    colour: str
    text: str
    title: str


@dataclass(frozen=True)
class Chart:
    """A server-rendered interval chart: bars, family headers and bands, axis ticks, height."""

    bars: list[Bar]
    headers: list[tuple[str, float]]
    bands: list[tuple[float, float]]
    ticks: list[tuple[float, str]]
    height: float
    plot_top: float
    plot_bottom: float
    legend: list[tuple[str, str]]
    label_x: float


def _x(v: float) -> float:
    return round(LABEL_W + PLOT_W * max(0.0, min(1.0, v)), 2)


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"


def interval_chart(series: list[tuple[str, dict[str, profiles.FamilyResult]]], families: list[str]) -> Chart:
    """Per family, one bar per series: the rate as a point, the 95% interval as a line, on 0-100%.

    One series: the family names the row. Several: each family gets a header row and a
    shaded band, and each bar is labelled with its series (model) in its colour.
    """
    bars: list[Bar] = []
    headers: list[tuple[str, float]] = []
    bands: list[tuple[float, float]] = []
    multi = len(series) > 1
    y = float(TOP)
    for k, fam in enumerate(families):
        band_top = y
        if multi:
            headers.append((fam, y + HEADER_H - 8))
            y += HEADER_H
        for i, (name, results) in enumerate(series):
            r = results.get(fam)
            mid = y + ROW_H / 2
            y += ROW_H
            if r is None:
                continue
            bars.append(
                Bar(
                    label=name if multi else fam,
                    y=mid,
                    x=_x(r.rate),
                    x_low=_x(r.low),
                    x_high=_x(r.high),
                    colour=SERIES_COLOURS[i % len(SERIES_COLOURS)],
                    text=f"{_pct(r.rate)}  [{_pct(r.low)}, {_pct(r.high)}]  n={r.n}",
                    title=f"{name} {fam}: {r.successes}/{r.n} = {_pct(r.rate)}, 95% interval "
                    f"{_pct(r.low)} to {_pct(r.high)} ({r.method})",
                )
            )
        if multi and k % 2 == 0:
            bands.append((band_top, y - band_top))
    plot_bottom = max(y, TOP + ROW_H)
    ticks = [(_x(t / 100), f"{t}%") for t in (0, 25, 50, 75, 100)]
    legend = [(name, SERIES_COLOURS[i % len(SERIES_COLOURS)]) for i, (name, _r) in enumerate(series)]
    return Chart(
        bars=bars,
        headers=headers,
        bands=bands,
        ticks=ticks,
        height=plot_bottom + BOTTOM,
        plot_top=TOP,
        plot_bottom=plot_bottom,
        legend=legend if multi else [],
        label_x=(LABEL_W - 12) if multi else 8,
    )


def _families_of(*results: dict[str, profiles.FamilyResult]) -> list[str]:
    seen = [f for f in FAMILIES if any(f in r for r in results)]
    extra = sorted({f for r in results for f in r} - set(FAMILIES))
    return seen + extra


def _can_run(principal: Principal) -> bool:
    try:
        require_runner(principal, "starting an evaluation run")
    except PermissionDenied:
        return False
    return True


def dashboard_card(session: Session, principal: Principal) -> dict[str, Any]:
    """The evaluations card on the dashboard."""
    recent = runs.list_runs(session, principal, limit=200)
    active = sum(1 for r in recent if r.status in ("queued", "running"))
    models = profiles.list_profiles(session, principal)
    lines = [f"{len(models)} model versions profiled", f"{active} runs queued or running"] if recent else []
    return {
        "title": "Evaluations",
        "href": "/evals",
        "big": len(recent),
        "unit": "evaluation runs",
        "lines": lines,
        "empty": None
        if recent
        else "No evaluation runs yet. Start one against a model endpoint from the Evaluations page, or "
        "`frontiersec evals run --suite cyber-core --model mockllm/model`; each model version then gets a "
        "capability profile with a 95% interval per family.",
    }


def _profile_href(name: str, version: str) -> str:
    return f"/evals/profiles/{quote(name, safe='')}/{quote(version, safe='')}"


def _runs_page(
    request: Request,
    session: Session,
    principal: Principal,
    *,
    form: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Response:
    rows = runs.list_runs(session, principal, limit=100)
    tpl = "evals/_runs_rows.html" if request.headers.get("hx-request") == "true" else "evals/runs.html"
    return templates(request).render(
        request,
        tpl,
        {
            "runs": rows,
            "active": any(r.status in ("queued", "running") for r in rows),
            "can_run": _can_run(principal),
            "form": form or {"model": "", "epochs": 1, "limit": "", "model_base_url": "", "tlp": "AMBER"},
            "errors": errors or {},
            "tasks": len(load_tasks()),
            "suite": SUITE_NAME,
            "profile_href": _profile_href,
        },
        status_code=status_code,
    )


@router.get("/evals", response_class=HTMLResponse)
def evals_page(request: Request, session: DbSession, principal: WebPrincipal) -> Response:
    """Runs with their status and progress, and the form to start one."""
    return _runs_page(request, session, principal)


def _opt_int(value: str) -> int | None:
    value = value.strip()
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        return -1  # reported by the service as out of range


@router.post("/evals/runs")
def evals_start(
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
    model: str = Form(default="", max_length=300),
    model_base_url: str = Form(default="", max_length=2000),
    api_key: str = Form(default="", max_length=4096),
    epochs: str = Form(default="1", max_length=6),
    limit: str = Form(default="", max_length=6),
    model_name: str = Form(default="", max_length=200),
    model_version: str = Form(default="", max_length=100),
    tlp: str = Form(default="AMBER", max_length=16),
) -> Response:
    """Start a run from the form; on bad input show the form again with each field's error."""
    require_runner(principal, "starting an evaluation run")
    form = {
        "model": model,
        "model_base_url": model_base_url,
        "epochs": epochs,
        "limit": limit,
        "model_name": model_name,
        "model_version": model_version,
        "tlp": tlp,
    }
    try:
        run = runs.start_run(
            session,
            principal,
            model=model,
            model_base_url=model_base_url or None,
            api_key=api_key or None,
            epochs=_opt_int(epochs) or 0,
            limit=_opt_int(limit),
            model_name=model_name or None,
            model_version=model_version or None,
            tlp=tlp,
            box=get_runtime(request).box,
        )
    except InvalidInput as exc:
        session.rollback()
        errors = {e.field: e.message for e in exc.errors} or {"model": exc.detail}
        # The key is never echoed back into the page, even on error.
        return _runs_page(request, session, principal, form=form, errors=errors, status_code=422)
    return RedirectResponse(f"/evals/runs/{run.id}", status_code=303)


@router.get("/evals/runs/{run_id}", response_class=HTMLResponse)
def run_page(
    run_id: uuid.UUID,
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
    family: str | None = Query(default=None, max_length=120),
    task: str | None = Query(default=None, max_length=200),
    score: str | None = Query(default=None, max_length=8),
    sort: str = Query(default="task", max_length=20),
    order: str = Query(default="asc", pattern="^(asc|desc)$"),
) -> Response:
    """One run: live progress while it runs, per-family table, samples (filter, sort)."""
    polling = (
        request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "run-progress"
    )
    run = runs.get_run(session, principal, run_id, audit_read=not polling)
    if polling:
        done = run.status not in ("queued", "running")
        # When the run ends, reload the whole page once so families and samples appear.
        return templates(request).render(
            request,
            "evals/_run_progress.html",
            {"run": run},
            headers={"HX-Refresh": "true"} if done else None,
        )
    samples = runs.list_samples(
        session,
        principal,
        run_id,
        runs.SampleQuery(
            family=family or None,
            task=task or None,
            score=score or None,
            sort=sort,
            descending=order == "desc",
        ),
    )
    fams = profiles.run_families(session, run)
    all_families = sorted({s.family for s in runs.list_samples(session, principal, run_id)} | set(fams))
    return templates(request).render(
        request,
        "evals/run.html",
        {
            "run": run,
            "families": fams,
            "family_names": all_families,
            "samples": samples,
            "params": {
                "family": family or "",
                "task": task or "",
                "score": score or "",
                "sort": sort,
                "order": order,
            },
            "profile_href": _profile_href(run.model_name, run.model_version),
        },
    )


@router.get("/evals/profiles", response_class=HTMLResponse)
def profiles_page(request: Request, session: DbSession, principal: WebPrincipal) -> Response:
    """Model versions with finished runs, each linking to its capability profile."""
    rows = profiles.list_profiles(session, principal)
    return templates(request).render(
        request, "evals/profiles.html", {"profiles": rows, "profile_href": _profile_href}
    )


@router.get("/evals/profiles/{profile_name}/{profile_version}", response_class=HTMLResponse)
def profile_page(
    profile_name: str, profile_version: str, request: Request, session: DbSession, principal: WebPrincipal
) -> Response:
    """A model version's capability profile: table, interval chart, and the runs with log hashes."""
    prof = profiles.capability_profile(session, principal, profile_name, profile_version)
    fams = _families_of(prof.families)
    others = [
        p
        for p in profiles.list_profiles(session, principal)
        if (p.model_name, p.model_version) != (profile_name, profile_version)
    ]
    return templates(request).render(
        request,
        "evals/profile.html",
        {
            "p": prof,
            "chart": interval_chart([(f"{profile_name} {profile_version}", prof.families)], fams),
            "missing": [f for f in FAMILIES if f not in prof.families],
            "others": others,
            "chart_w": CHART_W,
        },
    )


@router.get("/evals/compare", response_class=HTMLResponse)
def compare_page(
    request: Request,
    session: DbSession,
    principal: WebPrincipal,
    a: str = Query(default="", max_length=320),
    b: str = Query(default="", max_length=320),
) -> Response:
    """Two model versions side by side: rates, intervals, McNemar p and the bootstrap interval."""
    choices = profiles.list_profiles(session, principal)
    if not a or not b:
        return templates(request).render(
            request, "evals/compare.html", {"c": None, "choices": choices, "a": a, "b": b}
        )
    res = profiles.compare_profiles(
        session, principal, profiles.parse_identity(a, "a"), profiles.parse_identity(b, "b")
    )
    fams = _families_of(res.a.families, res.b.families)
    label_a = f"{res.a.model_name} {res.a.model_version}"
    label_b = f"{res.b.model_name} {res.b.model_version}"
    return templates(request).render(
        request,
        "evals/compare.html",
        {
            "c": res,
            "choices": choices,
            "a": a,
            "b": b,
            "label_a": label_a,
            "label_b": label_b,
            "chart": interval_chart([(label_a, res.a.families), (label_b, res.b.families)], fams),
            "chart_w": CHART_W,
            "profile_href": _profile_href,
        },
    )

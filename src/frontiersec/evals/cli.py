"""``frontiersec evals``: the cyber-core task catalog and its self-test, runs against model
endpoints, log imports, capability profiles and comparisons."""

from __future__ import annotations

import json
import os
import threading
import uuid
from pathlib import Path
from typing import Annotated, Any

import typer

from frontiersec.evals.catalog import CatalogError, load_tasks, summarize
from frontiersec.platform.cli_support import (
    AsOpt,
    JsonOpt,
    actor,
    error_exit,
    fail,
    load_settings,
    table,
    unit,
)
from frontiersec.platform.db import session_scope
from frontiersec.platform.errors import FrontiersecError
from frontiersec.platform.runtime import build_runtime

app = typer.Typer(help="Cyber-capability evaluations on Inspect AI.", no_args_is_help=True)


@app.command("tasks")
def tasks(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List every task of the cyber-core suite with its family, CWE and difficulty."""
    try:
        rows = summarize(load_tasks())
    except CatalogError as exc:
        typer.echo(f"error: the task catalog is invalid: {exc}", err=True)
        raise typer.Exit(1) from exc
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    typer.echo(f"{'TASK':34} {'FAMILY':13} {'CWE':9} {'DIFFICULTY':10} MINUTES")
    for r in rows:
        typer.echo(
            f"{r['id']!s:34} {r['family']!s:13} {r['cwe']!s:9} {r['difficulty']!s:10} "
            f"{r.get('expected_solve_minutes', '')}"
        )
    typer.echo(f"{len(rows)} tasks")


@app.command("selftest")
def selftest(
    task: Annotated[list[str] | None, typer.Option(help="Only these task ids (repeat).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Run every task with its reference solution (must score 1) and a null agent (must score 0)."""
    from frontiersec.evals.inspect_bridge.selftest import run_selftest

    rows = run_selftest(task_ids=task or None)
    failed = [r for r in rows if not r.passed]
    if as_json:
        typer.echo(json.dumps([r.__dict__ for r in rows], indent=2))
    else:
        typer.echo(f"{'TASK':34} {'REFERENCE':>9} {'NULL':>5}  PASS")
        for r in rows:
            ref = "—" if r.reference_score is None else f"{r.reference_score:.2f}"
            null = "—" if r.null_score is None else f"{r.null_score:.2f}"
            typer.echo(
                f"{r.task:34} {ref:>9} {null:>5}  {'yes' if r.passed else 'NO: ' + (r.error or 'score')}"
            )
        typer.echo(f"{len(rows) - len(failed)} of {len(rows)} tasks pass")
    if failed:
        raise typer.Exit(1)


@app.command("sandbox-check")
def sandbox_check(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Run the bubblewrap isolation self-test; exit non-zero if any probe escapes."""
    from frontiersec.evals.sandbox import SandboxError, isolation_selftest

    try:
        report = isolation_selftest()
    except SandboxError as exc:
        typer.echo(f"error: the sandbox cannot start: {exc}", err=True)
        raise typer.Exit(2) from exc
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "passed": report.passed,
                    "probes": [
                        {"name": p.name, "escaped": p.escaped, "detail": p.detail} for p in report.probes
                    ],
                },
                indent=2,
            )
        )
    else:
        for p in report.probes:
            typer.echo(f"{p.name:24} {'ESCAPED' if p.escaped else 'contained'}  {p.detail}")
        typer.echo("isolation intact" if report.passed else "ISOLATION BROKEN: refusing to run evaluations")
    if not report.passed:
        raise typer.Exit(1)


# --------------------------------------------------------------------------- runs and profiles


def _run_row(run: Any) -> dict[str, Any]:
    return {
        "id": str(run.id),
        "source": run.source,
        "suite": run.suite,
        "model": run.model,
        "base_url": run.base_url,
        "model_name": run.model_name,
        "model_version": run.model_version,
        "epochs": run.epochs,
        "limit": run.sample_limit,
        "status": run.status,
        "progress": run.progress,
        "samples_done": run.samples_done,
        "samples_total": run.samples_total,
        "error": run.error,
        "note": run.note,
        "log_path": run.log_path,
        "log_sha256": run.log_sha256,
        "logs": run.logs,
        "job_id": str(run.job_id) if run.job_id else None,
        "has_credential": run.credential_id is not None,
        "tlp": run.tlp,
        "created_at": run.created_at.isoformat(),
        "finished_at": run.finished_at.isoformat() if run.finished_at else None,
    }


def _family_rows(families: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "family": f.family,
            "successes": f.successes,
            "n": f.n,
            "rate": f.rate,
            "low": f.low,
            "high": f.high,
            "method": f.method,
        }
        for f in families.values()
    ]


def _print_families(families: dict[str, Any]) -> None:
    typer.echo(f"  {'FAMILY':24} {'RATE':>6}  {'95% INTERVAL':17} {'N':>4}  METHOD")
    for f in families.values():
        typer.echo(
            f"  {f.family:24} {100 * f.rate:5.1f}%  {100 * f.low:5.1f}% - {100 * f.high:5.1f}%  {f.n:>4}  {f.method}"
        )


def _watch(sessions: Any, run_id: uuid.UUID, stop: threading.Event) -> None:
    """Print a progress line whenever the run's count of scored samples changes (and once at the end)."""
    from frontiersec.evals.models import EvalRun

    last: tuple[str, int] | None = None
    while True:
        stopping = stop.wait(1.0)
        with sessions() as s:
            run = s.get(EvalRun, run_id)
            if run is not None and (run.status, run.samples_done) != last:
                last = (run.status, run.samples_done)
                typer.echo(f"  {run.status}: {run.samples_done}/{run.samples_total} samples", err=True)
        if stopping:
            return


@app.command("run")
def run_cmd(
    model: Annotated[str, typer.Option("--model", help="Inspect model PROVIDER/MODEL, e.g. mockllm/model.")],
    suite: Annotated[str, typer.Option("--suite", help="Benchmark suite.")] = "cyber-core",
    model_base_url: Annotated[
        str | None, typer.Option("--model-base-url", help="OpenAI-compatible endpoint (vLLM, llama.cpp).")
    ] = None,
    api_key_env: Annotated[
        str | None,
        typer.Option("--api-key-env", help="Read the endpoint's API key from this environment variable."),
    ] = None,
    epochs: Annotated[int, typer.Option("--epochs", help="Times each sample is run.")] = 1,
    limit: Annotated[int | None, typer.Option("--limit", help="Only the first N tasks.")] = None,
    task: Annotated[list[str] | None, typer.Option("--task", help="Only these task ids (repeat).")] = None,
    max_connections: Annotated[
        int | None, typer.Option("--max-connections", help="Concurrent model requests.")
    ] = None,
    max_samples: Annotated[int | None, typer.Option("--max-samples", help="Samples run at once.")] = None,
    model_name: Annotated[
        str | None, typer.Option("--model-name", help="Model name of the profile (default: from --model).")
    ] = None,
    model_version: Annotated[
        str | None, typer.Option("--model-version", help="Model version of the profile.")
    ] = None,
    tlp: Annotated[str, typer.Option("--tlp", help="TLP 2.0 label of the run.")] = "AMBER",
    wait: Annotated[
        bool,
        typer.Option(
            "--wait/--no-wait",
            help="Run here and wait, printing progress (default), or only queue it for a worker.",
        ),
    ] = True,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Run the suite against a model as a job: by default here, printing progress, until it ends."""
    from frontiersec.evals import runs
    from frontiersec.evals.jobs import run_evaluation  # noqa: F401  (registers the job)
    from frontiersec.evals.models import EvalRun

    api_key = None
    if api_key_env:
        api_key = os.environ.get(api_key_env)
        if not api_key:
            fail(f"--api-key-env: the environment variable {api_key_env} is not set or empty", 2)
    s = load_settings()
    # --wait: Huey's immediate mode runs the job in this process right after the commit
    # (nothing goes to the shared queue, so a running worker cannot pick it up twice).
    rt = build_runtime(s, immediate_jobs=wait)
    stop = threading.Event()
    watcher: threading.Thread | None = None
    run_id: uuid.UUID | None = None
    try:
        with session_scope(rt.sessions) as session:
            try:
                run = runs.start_run(
                    session,
                    actor(session, as_email),
                    suite=suite,
                    model=model,
                    model_base_url=model_base_url,
                    api_key=api_key,
                    epochs=epochs,
                    limit=limit,
                    task_ids=task or None,
                    model_name=model_name,
                    model_version=model_version,
                    max_connections=max_connections,
                    max_samples=max_samples,
                    tlp=tlp,
                    box=rt.box,
                )
            except FrontiersecError as exc:
                error_exit(exc)
            run_id = run.id
            if not as_json:
                typer.echo(
                    f"run {run.id}: {run.model} as {run.model_name} {run.model_version}, "
                    f"{run.samples_total} samples" + ("" if wait else " (queued for a worker)"),
                    err=not wait,
                )
            if wait:
                watcher = threading.Thread(target=_watch, args=(rt.sessions, run.id, stop), daemon=True)
                watcher.start()
        stop.set()
        if watcher is not None:
            watcher.join()
        with rt.sessions() as session:
            final = session.get(EvalRun, run_id)
            assert final is not None
            row = _run_row(final)
    finally:
        stop.set()
        rt.engine.dispose()
    if as_json:
        typer.echo(json.dumps(row, indent=2))
    elif wait:
        typer.echo(f"{row['status']}: {row['samples_done']}/{row['samples_total']} samples scored")
        if row["error"]:
            typer.echo(f"  error: {row['error']}")
        if row["log_sha256"]:
            typer.echo(f"  log {row['log_path']}\n  sha256 {row['log_sha256']}")
        typer.echo(
            f"  profile: frontiersec evals profile {row['model_name']} {row['model_version']}  "
            f"(web: /evals/profiles/{row['model_name']}/{row['model_version']})"
        )
    else:
        typer.echo(row["id"])
    if wait and row["status"] != "succeeded":
        raise typer.Exit(1)


@app.command("runs")
def runs_cmd(
    model_name: Annotated[str | None, typer.Option("--model-name", help="Only this model name.")] = None,
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """List evaluation runs, newest first."""
    from frontiersec.evals import runs

    with unit() as (_rt, session):
        rows = [_run_row(r) for r in runs.list_runs(session, actor(session, as_email), model_name=model_name)]
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        r["samples"] = f"{r['samples_done']}/{r['samples_total']}"
        r["version"] = r["model_version"]
    table(rows, ["id", "model_name", "version", "model", "status", "samples", "created_at"])


@app.command("show")
def show_cmd(
    run_id: Annotated[str, typer.Argument(help="Run id.")],
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One run: status, log hash, per-family rates with 95% intervals, and its samples."""
    from frontiersec.evals import profile, runs

    rid = _uuid(run_id, "RUN_ID")
    with unit() as (_rt, session):
        principal = actor(session, as_email)
        run = runs.get_run(session, principal, rid)
        row = _run_row(run)
        families = profile.run_families(session, run)
        samples = [
            {
                "task_id": x.task_id,
                "family": x.family,
                "epoch": x.epoch,
                "score": x.score,
                "error": x.error,
            }
            for x in runs.list_samples(session, principal, rid)
        ]
    row["families"] = _family_rows(families)
    row["samples"] = samples
    if as_json:
        typer.echo(json.dumps(row, indent=2))
        return
    typer.echo(f"run {row['id']}  {row['model']}  ({row['model_name']} {row['model_version']})")
    typer.echo(f"  status {row['status']}: {row['samples_done']}/{row['samples_total']} samples scored")
    if row["error"]:
        typer.echo(f"  error: {row['error']}")
    if row["log_sha256"]:
        typer.echo(f"  log sha256 {row['log_sha256']}")
    _print_families(families)
    for x in samples:
        score = "error" if x["score"] is None else f"{x['score']:g}"
        typer.echo(f"  {x['task_id']:34} {x['family']:13} epoch {x['epoch']}  {score}")


@app.command("import")
def import_cmd(
    log: Annotated[
        Path, typer.Argument(help="An Inspect log (.eval), e.g. from an inspect_evals Cybench run.")
    ],
    model_name: Annotated[
        str | None, typer.Option("--model-name", help="Model name (default: the log's).")
    ] = None,
    model_version: Annotated[str | None, typer.Option("--model-version", help="Model version.")] = None,
    tlp: Annotated[str, typer.Option("--tlp", help="TLP 2.0 label.")] = "AMBER",
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Import an Inspect log produced elsewhere as a finished run with per-sample results."""
    from frontiersec.evals import logs

    if not log.is_file():
        fail(f"{log}: no such file", 2)
    s = load_settings()
    with unit(s) as (_rt, session):
        run = logs.import_log(
            session,
            actor(session, as_email),
            s,
            log,
            filename=log.name,
            model_name=model_name,
            model_version=model_version,
            tlp=tlp,
        )
        row = _run_row(run)
    if as_json:
        typer.echo(json.dumps(row, indent=2))
    else:
        typer.echo(
            f"imported {log.name} as run {row['id']}: {row['model_name']} {row['model_version']}, "
            f"{row['samples_done']}/{row['samples_total']} samples scored, sha256 {row['log_sha256']}"
        )


@app.command("profile")
def profile_cmd(
    model_name: Annotated[str, typer.Argument(help="Model name.")],
    model_version: Annotated[str, typer.Argument(help="Model version.")],
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A model version's capability profile: each family's rate, 95% interval and n, and its runs."""
    from frontiersec.evals import profile

    with unit() as (_rt, session):
        p = profile.capability_profile(session, actor(session, as_email), model_name, model_version)
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "model_name": p.model_name,
                    "model_version": p.model_version,
                    "families": _family_rows(p.families),
                    "runs": [
                        {
                            "id": str(r.id),
                            "model": r.model,
                            "log_sha256": r.log_sha256,
                            "finished_at": r.finished_at.isoformat(),
                            "samples": r.samples,
                        }
                        for r in p.runs
                    ],
                },
                indent=2,
            )
        )
        return
    typer.echo(f"{p.model_name} {p.model_version}: {len(p.runs)} runs")
    _print_families(p.families)
    for r in p.runs:
        typer.echo(f"  run {r.id}  {r.samples} samples  log sha256 {r.log_sha256}")


@app.command("compare")
def compare_cmd(
    a: Annotated[str, typer.Argument(help="Model A as MODEL_NAME@MODEL_VERSION.")],
    b: Annotated[str, typer.Argument(help="Model B as MODEL_NAME@MODEL_VERSION.")],
    as_email: AsOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Compare two model versions per family: exact McNemar and a paired bootstrap 95% interval."""
    from frontiersec.evals import profile

    with unit() as (_rt, session):
        res = profile.compare_profiles(
            session, actor(session, as_email), profile.parse_identity(a, "a"), profile.parse_identity(b, "b")
        )

    def fam(c: Any) -> dict[str, Any]:
        return {
            "family": c.family,
            "a": None if c.a is None else _family_rows({c.family: c.a})[0],
            "b": None if c.b is None else _family_rows({c.family: c.b})[0],
            "shared": c.shared,
            "diff": c.diff,
            "low": c.low,
            "high": c.high,
            "p_value": c.p_value,
            "a_only": c.a_only,
            "b_only": c.b_only,
        }

    rows = [fam(c) for c in [*res.families, res.overall]]
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "a": a,
                    "b": b,
                    "families": rows[:-1],
                    "overall": rows[-1],
                    "n_resamples": res.n_resamples,
                    "seed": res.seed,
                },
                indent=2,
            )
        )
        return
    typer.echo(
        f"A = {a}, B = {b}  (paired on shared samples; bootstrap {res.n_resamples} resamples, seed {res.seed})"
    )
    typer.echo(
        f"  {'FAMILY':24} {'A':>6} {'B':>6} {'SHARED':>6} {'A-B':>7}  {'95% CI':17} {'P (McNemar)':>11}"
    )
    for r in rows:
        ra = "-" if r["a"] is None else f"{100 * r['a']['rate']:5.1f}%"
        rb = "-" if r["b"] is None else f"{100 * r['b']['rate']:5.1f}%"
        if r["diff"] is None:
            typer.echo(f"  {r['family']:24} {ra:>6} {rb:>6} {r['shared']:>6}  (no shared samples)")
            continue
        ci = f"{100 * r['low']:+.1f} to {100 * r['high']:+.1f}"
        typer.echo(
            f"  {r['family']:24} {ra:>6} {rb:>6} {r['shared']:>6} {100 * r['diff']:+6.1f}  {ci:17} {r['p_value']:11.4f}"
        )


def _uuid(value: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        fail(f"{field}: {value!r} is not a run id", 2)

"""``frontiersec evals``: the cyber-core task catalog and its self-test."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from frontiersec.evals.catalog import CatalogError, load_tasks, summarize

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

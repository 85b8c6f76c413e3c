"""`frontiersec designation ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Designation.", no_args_is_help=True)

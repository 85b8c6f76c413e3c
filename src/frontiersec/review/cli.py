"""`frontiersec review ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Review.", no_args_is_help=True)

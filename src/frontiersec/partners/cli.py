"""`frontiersec partners ...` commands."""

from __future__ import annotations

import typer

app = typer.Typer(help="Partners.", no_args_is_help=True)

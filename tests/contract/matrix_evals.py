"""Authorization-matrix rows for the evals area (see ``matrix_common``)."""

from __future__ import annotations

from tests.contract.matrix_common import Row

ROWS: list[Row] = []

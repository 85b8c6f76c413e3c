"""Authorization-matrix rows for the review area (see ``matrix_common``)."""

from __future__ import annotations

from tests.contract.matrix_common import Row

ROWS: list[Row] = []

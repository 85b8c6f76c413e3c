"""Designation background jobs."""

from __future__ import annotations

"""Checks shared by the evals service modules: who may run evaluations, who owns a run, and
what a model identity (name + version) may look like."""

from __future__ import annotations

import datetime as dt
import re
import uuid

from sqlalchemy.orm import Session

from frontiersec.platform.auth.models import OrgKind, Role
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.auth.service import ensure_program_office
from frontiersec.platform.errors import FieldError, PermissionDenied

__all__ = [
    "DEFAULT_VERSION",
    "IDENTITY_RE",
    "aware",
    "check_identity",
    "default_identity",
    "owner_org_for",
    "require_runner",
]

# No "/" (the identity is a path segment of the profile page) and no "@" (compare takes NAME@VERSION).
IDENTITY_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:+-]{0,199}$")
DEFAULT_VERSION = "unversioned"


def require_runner(principal: Principal, action: str) -> None:
    """Analysts (and admins) of a government agency, or operators, start runs and import logs."""
    principal.require_role(Role.ANALYST, action)
    if not principal.is_operator and principal.org_kind != OrgKind.GOVERNMENT_AGENCY.value:
        raise PermissionDenied(f"{action} is done by government-agency evaluators")


def owner_org_for(session: Session, principal: Principal) -> uuid.UUID:
    """The acting organisation, or the program office when the system itself acts (CLI, demo)."""
    if principal.org_id is not None:
        return principal.org_id
    return ensure_program_office(session).id


def default_identity(model: str) -> tuple[str, str]:
    """The profile identity of a ``provider/model`` string when none is given.

    ``openai/SmolLM2-135M-Instruct`` → (``openai-SmolLM2-135M-Instruct``, ``unversioned``).
    """
    name = re.sub(r"[^A-Za-z0-9._:+-]", "-", model).strip("-.")[:200] or "model"
    return name, DEFAULT_VERSION


def check_identity(name: str, version: str) -> list[FieldError]:
    """Field errors of a model name / version pair (empty when both are fine)."""
    errors = []
    for field, value in (("model_name", name), ("model_version", version)):
        if not IDENTITY_RE.match(value):
            errors.append(
                FieldError(field, "1-200 letters, digits or . _ : + - (no '/' or '@'), starting alphanumeric")
            )
    return errors


def aware(value: dt.datetime | None) -> dt.datetime | None:
    """A timestamp with a timezone (naive ones are taken as UTC)."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=dt.UTC)

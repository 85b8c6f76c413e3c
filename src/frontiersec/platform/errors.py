"""The exception tree every layer raises; one handler renders it (see ``problems``).

::

    FrontiersecError (500)
     ├── InvalidInput (422)          bad field values; carries the field path(s) at fault
     │    └── PayloadTooLarge (413)
     ├── AuthenticationRequired (401)
     ├── PermissionDenied (403)
     ├── NotFound (404)              also what a user gets for a record they may not see
     ├── Conflict (409)
     └── PreconditionFailed (412)

Services raise these (or domain subclasses); they never raise ``HTTPException``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = [
    "AuthenticationRequired",
    "Conflict",
    "FieldError",
    "FrontiersecError",
    "InvalidInput",
    "NotFound",
    "PayloadTooLarge",
    "PermissionDenied",
    "PreconditionFailed",
]


@dataclass(frozen=True)
class FieldError:
    """One field at fault: a dotted/JSON path and why."""

    field: str
    message: str


class FrontiersecError(Exception):
    """Base of every error we raise on purpose."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal-error"
    title: ClassVar[str] = "Internal error"

    def __init__(self, detail: str, *, errors: list[FieldError] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors: list[FieldError] = errors or []
        self.extra = extra


class InvalidInput(FrontiersecError):
    status = 422
    code = "invalid-input"
    title = "Invalid input"

    @classmethod
    def on(cls, field_path: str, message: str) -> InvalidInput:
        """Shortcut for an error on one field."""
        return cls(f"{field_path}: {message}", errors=[FieldError(field_path, message)])


class PayloadTooLarge(InvalidInput):
    status = 413
    code = "payload-too-large"
    title = "Payload too large"


class AuthenticationRequired(FrontiersecError):
    status = 401
    code = "authentication-required"
    title = "Authentication required"


class PermissionDenied(FrontiersecError):
    status = 403
    code = "permission-denied"
    title = "Permission denied"


class NotFound(FrontiersecError):
    status = 404
    code = "not-found"
    title = "Not found"


class Conflict(FrontiersecError):
    status = 409
    code = "conflict"
    title = "Conflict"


class PreconditionFailed(FrontiersecError):
    status = 412
    code = "precondition-failed"
    title = "Precondition failed"


def all_error_classes() -> list[type[FrontiersecError]]:
    """Every subclass of :class:`FrontiersecError` currently imported."""
    out: list[type[FrontiersecError]] = []
    stack: list[type[FrontiersecError]] = [FrontiersecError]
    while stack:
        cls = stack.pop()
        out.append(cls)
        stack.extend(cls.__subclasses__())
    return out

"""Model credentials: API keys for evaluated endpoints, encrypted at rest, never shown again.

A key is encrypted with the deployment's :class:`~frontiersec.platform.secrets_box.SecretBox`
the moment it is entered and decrypted only inside the run job, where it goes to the
Inspect provider object in-process (never into an environment, a log or a response).
Purging deletes the ciphertext (the review area does it when a window ends); the row
stays as a tombstone for the audit trail.
"""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontiersec.evals.models import EvalRun, ModelCredential
from frontiersec.platform.audit.service import record
from frontiersec.platform.auth.models import Role
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.clock import utcnow
from frontiersec.platform.errors import InvalidInput, NotFound, PreconditionFailed
from frontiersec.platform.secrets_box import SecretBox

__all__ = ["MAX_KEY_LENGTH", "purge_credential", "reveal_secret", "store_credential"]

MAX_KEY_LENGTH = 4096


def store_credential(
    session: Session,
    principal: Principal,
    box: SecretBox,
    *,
    api_key: str,
    label: str,
    base_url: str | None,
    owner_org_id: uuid.UUID,
) -> ModelCredential:
    """Encrypt and store an API key (RED: only its creator, and operators, could ever list it)."""
    key = api_key.strip()
    if not key:
        raise InvalidInput.on("api_key", "is empty")
    if len(key) > MAX_KEY_LENGTH or any(c in key for c in "\r\n\x00"):
        raise InvalidInput.on("api_key", f"must be one line of at most {MAX_KEY_LENGTH} characters")
    cred = ModelCredential(
        label=label[:200],
        base_url=base_url,
        secret_encrypted=box.encrypt_str(key),
        owner_org_id=owner_org_id,
        tlp="RED",
        created_by=principal.user_id,
    )
    session.add(cred)
    session.flush()
    record(
        session,
        principal,
        "evals.credential.stored",
        object_type="eval_credential",
        object_id=cred.id,
        tlp=cred.tlp,
        details={"label": cred.label},
    )
    return cred


def reveal_secret(session: Session, credential_id: uuid.UUID, box: SecretBox) -> str:
    """The plaintext key, for the run job only (raises if the credential was purged)."""
    cred = session.get(ModelCredential, credential_id)
    if cred is None or cred.secret_encrypted is None:
        raise PreconditionFailed("the run's model credential was purged; start a new run with a new key")
    return box.decrypt_str(cred.secret_encrypted)


def purge_credential(
    session: Session, principal: Principal, run_or_credential_id: uuid.UUID
) -> ModelCredential:
    """Delete a credential's ciphertext, given the credential's id or the id of a run that uses it.

    Allowed to operators (and the system) and to analysts or admins of the owning
    organisation; anyone else is told it does not exist. Purging twice is harmless.
    """
    cred = session.get(ModelCredential, run_or_credential_id)
    if cred is None:
        run = session.get(EvalRun, run_or_credential_id)
        if run is not None and run.credential_id is not None:
            cred = session.get(ModelCredential, run.credential_id)
    allowed = cred is not None and (
        principal.is_operator or (principal.org_id == cred.owner_org_id and principal.has_role(Role.ANALYST))
    )
    if cred is None or not allowed:
        raise NotFound(f"no model credential for {run_or_credential_id}")
    if cred.secret_encrypted is None:
        return cred
    cred.secret_encrypted = None
    cred.purged_at = utcnow()
    cred.purged_by = principal.user_id
    session.flush()
    runs = [
        str(r) for r in session.execute(select(EvalRun.id).where(EvalRun.credential_id == cred.id)).scalars()
    ]
    record(
        session,
        principal,
        "evals.credential.purged",
        object_type="eval_credential",
        object_id=cred.id,
        tlp=cred.tlp,
        details={"runs": runs},
    )
    return cred

"""Ed25519 signatures on documents that leave the system.

A signed document is ``{"payload": {...}, "signature": {"alg": "Ed25519", "kid": ...,
"value": base64url}}``; the signature covers the RFC 8785 canonical JSON of ``payload``.
Public keys are published at ``/.well-known/frontiersec-keys.json`` (a JWK set), so any
party can verify offline.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import rfc8785
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from frontiersec.platform.audit.service import record
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.clock import utcnow
from frontiersec.platform.errors import InvalidInput, PreconditionFailed
from frontiersec.platform.models import SigningKey
from frontiersec.platform.secrets_box import SecretBox

__all__ = [
    "active_key",
    "ensure_signing_key",
    "jwks",
    "rotate_key",
    "sign_document",
    "verify_document",
]


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _b64u_dec(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _new_key(session: Session, box: SecretBox) -> SigningKey:
    priv = Ed25519PrivateKey.generate()
    pub = _raw_public(priv.public_key())
    raw_priv = priv.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    row = SigningKey(
        kid=hashlib.sha256(pub).hexdigest()[:16],
        public_key=pub,
        private_key_encrypted=box.encrypt(raw_priv),
    )
    session.add(row)
    session.flush()
    return row


def active_key(session: Session) -> SigningKey | None:
    """The newest key that is not retired."""
    return (
        session.execute(
            select(SigningKey).where(SigningKey.retired_at.is_(None)).order_by(SigningKey.created_at.desc())
        )
        .scalars()
        .first()
    )


def ensure_signing_key(session: Session, box: SecretBox) -> SigningKey:
    """The active key, created on first start."""
    return active_key(session) or _new_key(session, box)


def rotate_key(session: Session, box: SecretBox, principal: Principal) -> SigningKey:
    """Retire the active key (it stays published for verification) and create a new one."""
    principal.require_operator("rotating the signing key")
    old = active_key(session)
    if old is not None:
        old.retired_at = utcnow()
    new = _new_key(session, box)
    record(
        session,
        principal,
        "keys.rotate",
        object_type="signing_key",
        object_id=new.kid,
        details={"retired": old.kid if old else None},
    )
    return new


def sign_document(session: Session, box: SecretBox, payload: dict[str, Any]) -> dict[str, Any]:
    """Sign ``payload`` with the active deployment key."""
    key = active_key(session)
    if key is None:
        raise PreconditionFailed("no signing key: start the server once or run `frontiersec keys rotate`")
    priv = Ed25519PrivateKey.from_private_bytes(box.decrypt(key.private_key_encrypted))
    sig = priv.sign(rfc8785.dumps(payload))
    return {"payload": payload, "signature": {"alg": "Ed25519", "kid": key.kid, "value": _b64u(sig)}}


def jwks(session: Session) -> dict[str, Any]:
    """Every key (active and retired) as a JWK set (RFC 8037 OKP keys)."""
    keys = session.execute(select(SigningKey).order_by(SigningKey.created_at)).scalars().all()
    return {
        "keys": [
            {
                "kty": "OKP",
                "crv": "Ed25519",
                "kid": k.kid,
                "x": _b64u(k.public_key),
                "use": "sig",
                "alg": "EdDSA",
                "status": "retired" if k.retired_at else "active",
                "created": k.created_at.isoformat(),
            }
            for k in keys
        ]
    }


def verify_document(document: dict[str, Any], keyset: dict[str, Any]) -> dict[str, Any]:
    """Verify a signed document offline against a JWK set; returns the payload or raises."""
    try:
        payload = document["payload"]
        sig = document["signature"]
        kid, value = sig["kid"], sig["value"]
    except (KeyError, TypeError) as exc:
        raise InvalidInput.on("signature", "not a signed frontiersec document") from exc
    if sig.get("alg") != "Ed25519":
        raise InvalidInput.on("signature.alg", f"unsupported algorithm {sig.get('alg')!r}")
    match = [k for k in keyset.get("keys", []) if k.get("kid") == kid]
    if not match:
        raise InvalidInput.on("signature.kid", f"unknown key id {kid!r}")
    pub = Ed25519PublicKey.from_public_bytes(_b64u_dec(match[0]["x"]))
    try:
        pub.verify(_b64u_dec(value), rfc8785.dumps(payload))
    except (InvalidSignature, ValueError) as exc:
        raise InvalidInput.on("signature.value", "signature does not match the document") from exc
    return dict(payload)

"""Ed25519 document signatures, verified offline against the published JWK set, across a
key rotation done with the CLI."""

from __future__ import annotations

import base64
import copy
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from frontiersec.cli import app as cli_app
from frontiersec.platform.errors import InvalidInput
from frontiersec.platform.models import SigningKey
from frontiersec.platform.runtime import Runtime
from frontiersec.platform.signing import sign_document, verify_document
from frontiersec.settings import Settings

PAYLOAD = {"advisory": "FS-2025-0001", "cve": "CVE-2025-48384", "severity": "high", "note": "café ünïcode"}


def _keys(client: TestClient) -> dict[str, Any]:
    r = client.get("/.well-known/frontiersec-keys.json")
    assert r.status_code == 200
    return dict(r.json())


def _sign(rt: Runtime, payload: dict[str, Any]) -> dict[str, Any]:
    with rt.sessions() as s:
        return sign_document(s, rt.box, payload)


def test_sign_and_verify(client: TestClient, rt: Runtime) -> None:
    doc = _sign(rt, PAYLOAD)
    keyset = _keys(client)
    assert verify_document(doc, keyset) == PAYLOAD
    assert [k["kid"] for k in keyset["keys"]] == [doc["signature"]["kid"]]


@pytest.mark.parametrize("where", ["payload-value", "payload-key", "signature-byte"])
def test_tampering_fails(client: TestClient, rt: Runtime, where: str) -> None:
    doc = _sign(rt, PAYLOAD)
    bad = copy.deepcopy(doc)
    if where == "payload-value":
        bad["payload"]["severity"] = "low"
    elif where == "payload-key":
        bad["payload"]["extra"] = 1
    else:
        raw = bytearray(base64.urlsafe_b64decode(doc["signature"]["value"] + "=="))
        raw[0] ^= 1
        bad["signature"]["value"] = base64.urlsafe_b64encode(bytes(raw)).rstrip(b"=").decode()
    with pytest.raises(InvalidInput) as info:
        verify_document(bad, _keys(client))
    assert info.value.errors[0].field == "signature.value"


def test_unknown_kid_fails(client: TestClient, rt: Runtime) -> None:
    doc = _sign(rt, PAYLOAD)
    doc["signature"]["kid"] = "0000000000000000"
    with pytest.raises(InvalidInput) as info:
        verify_document(doc, _keys(client))
    assert info.value.errors[0].field == "signature.kid"


def test_rotation_keeps_old_documents_valid(client: TestClient, rt: Runtime, settings: Settings) -> None:
    old_doc = _sign(rt, PAYLOAD)
    env = {
        "FRONTIERSEC_DATA_DIR": str(settings.data_dir),
        "FRONTIERSEC_DATABASE_URL": settings.database_url or "",
        "FRONTIERSEC_DEMO_DATA": str(settings.demo_data),
    }
    res = CliRunner().invoke(cli_app, ["keys", "rotate"], env=env)
    assert res.exit_code == 0, res.output
    new_doc = _sign(rt, {"advisory": "FS-2025-0002"})
    assert new_doc["signature"]["kid"] != old_doc["signature"]["kid"]
    assert new_doc["signature"]["kid"] in res.output
    keyset = _keys(client)
    status = {k["kid"]: k["status"] for k in keyset["keys"]}
    assert status == {old_doc["signature"]["kid"]: "retired", new_doc["signature"]["kid"]: "active"}
    assert verify_document(old_doc, keyset) == PAYLOAD
    assert verify_document(new_doc, keyset) == {"advisory": "FS-2025-0002"}
    # A document signed with the old kid but claiming the new one does not verify.
    swapped = copy.deepcopy(old_doc)
    swapped["signature"]["kid"] = new_doc["signature"]["kid"]
    with pytest.raises(InvalidInput):
        verify_document(swapped, keyset)


def test_private_key_is_stored_encrypted(client: TestClient, session: Session, rt: Runtime) -> None:
    row = session.execute(select(SigningKey)).scalars().one()
    stored = bytes(row.private_key_encrypted)
    raw_priv = rt.box.decrypt(stored)
    assert len(raw_priv) == 32
    assert raw_priv not in stored
    assert base64.urlsafe_b64encode(raw_priv).rstrip(b"=") not in stored
    # The decrypted key is the private half of the published public key.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    pub = (
        Ed25519PrivateKey.from_private_bytes(raw_priv)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )
    assert pub == bytes(row.public_key)

"""Outbound webhooks: per-organisation subscriptions, HMAC-SHA256 signed deliveries,
retries with exponential backoff as jobs, and a delivery log.

Each delivery is a ``POST`` of the JSON event with these headers::

    X-Frontiersec-Event:      <event name>
    X-Frontiersec-Delivery:   <delivery id>
    X-Frontiersec-Timestamp:  <unix seconds>
    X-Frontiersec-Signature:  sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the secret>

Receivers recompute the HMAC with the secret they were shown once, and reject stale
timestamps.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import secrets
import time
import uuid
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlparse

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from frontiersec.platform.audit.service import record, record_read
from frontiersec.platform.auth.models import Role
from frontiersec.platform.auth.principal import SYSTEM, Principal
from frontiersec.platform.clock import utcnow
from frontiersec.platform.db import session_scope
from frontiersec.platform.errors import InvalidInput, NotFound
from frontiersec.platform.jobs import JobContext, RetryLater, enqueue, job
from frontiersec.platform.models import WebhookDelivery, WebhookSubscription
from frontiersec.platform.secrets_box import SecretBox

__all__ = [
    "create_subscription",
    "delete_subscription",
    "emit_event",
    "get_subscription",
    "list_deliveries",
    "list_subscriptions",
    "ping_subscription",
    "sign_body",
]


def sign_body(secret: str, timestamp: int, body: bytes) -> str:
    """The ``X-Frontiersec-Signature`` value for a body."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"sha256={mac}"


def _check_url(url: str) -> str:
    parsed = urlparse(url)
    if parsed.scheme not in ("https", "http") or not parsed.netloc:
        raise InvalidInput.on("url", "must be an absolute http(s) URL")
    return url


def create_subscription(
    session: Session,
    principal: Principal,
    box: SecretBox,
    *,
    url: str,
    events: Sequence[str],
    description: str = "",
) -> tuple[WebhookSubscription, str]:
    """Subscribe the principal's organisation; the signing secret is returned once."""
    principal.require_role(Role.ADMIN, "managing webhooks")
    if principal.org_id is None:
        raise InvalidInput.on("org", "webhooks belong to an organisation")
    if not events or any(not e.strip() for e in events):
        raise InvalidInput.on("events", "list at least one event name (or '*')")
    secret = "whsec_" + secrets.token_urlsafe(32)
    sub = WebhookSubscription(
        url=_check_url(url),
        events=sorted(set(events)),
        description=description[:200],
        secret_encrypted=box.encrypt_str(secret),
        owner_org_id=principal.org_id,
        tlp="AMBER",
        created_by=principal.user_id,
    )
    session.add(sub)
    session.flush()
    record(
        session,
        principal,
        "webhook.create",
        object_type="webhook",
        object_id=sub.id,
        tlp="AMBER",
        details={"url": sub.url, "events": sub.events},
    )
    return sub, secret


def get_subscription(session: Session, principal: Principal, sub_id: uuid.UUID) -> WebhookSubscription:
    """One of the organisation's subscriptions."""
    sub = session.get(WebhookSubscription, sub_id)
    if sub is None or (sub.owner_org_id != principal.org_id and not principal.is_operator):
        raise NotFound(f"webhook {sub_id} not found")
    return sub


def list_subscriptions(session: Session, principal: Principal) -> Sequence[WebhookSubscription]:
    """The organisation's subscriptions."""
    return (
        session.execute(
            select(WebhookSubscription)
            .where(WebhookSubscription.owner_org_id == principal.org_id)
            .order_by(WebhookSubscription.created_at)
        )
        .scalars()
        .all()
    )


def delete_subscription(session: Session, principal: Principal, sub_id: uuid.UUID) -> None:
    """Remove a subscription and its delivery log."""
    principal.require_role(Role.ADMIN, "managing webhooks")
    sub = get_subscription(session, principal, sub_id)
    session.delete(sub)
    record(session, principal, "webhook.delete", object_type="webhook", object_id=sub_id, tlp="AMBER")
    session.flush()


def list_deliveries(
    session: Session, principal: Principal, sub_id: uuid.UUID, *, limit: int = 100
) -> Sequence[WebhookDelivery]:
    """The delivery log of one subscription, newest first (an audited read of AMBER material)."""
    sub = get_subscription(session, principal, sub_id)
    record_read(
        session,
        principal,
        object_type="webhook",
        object_id=sub.id,
        tlp=sub.tlp,
        details={"what": "delivery log"},
    )
    return (
        session.execute(
            select(WebhookDelivery)
            .where(WebhookDelivery.subscription_id == sub_id)
            .order_by(WebhookDelivery.created_at.desc())
            .limit(limit)
        )
        .scalars()
        .all()
    )


def emit_event(
    session: Session,
    event: str,
    payload: dict[str, Any],
    *,
    org_ids: Sequence[uuid.UUID],
    only_subscription: uuid.UUID | None = None,
) -> list[WebhookDelivery]:
    """Queue ``event`` for every active subscription of ``org_ids`` that wants it."""
    subs = (
        session.execute(
            select(WebhookSubscription).where(
                WebhookSubscription.owner_org_id.in_(list(org_ids)), WebhookSubscription.active.is_(True)
            )
        )
        .scalars()
        .all()
    )
    out = []
    for sub in subs:
        if only_subscription is not None and sub.id != only_subscription:
            continue
        if only_subscription is None and "*" not in sub.events and event not in sub.events:
            continue
        d = WebhookDelivery(subscription_id=sub.id, event=event, payload=payload)
        session.add(d)
        session.flush()
        enqueue(
            session,
            SYSTEM,
            "platform.webhook_deliver",
            {"delivery_id": str(d.id)},
            owner_org_id=sub.owner_org_id,
        )
        out.append(d)
    return out


@job("platform.webhook_deliver")
def deliver(ctx: JobContext) -> dict[str, Any]:
    """Send one delivery; on failure retry with exponential backoff, then give up."""
    settings = ctx.settings
    with session_scope(ctx.sessions) as s:
        d = s.get(WebhookDelivery, uuid.UUID(ctx.params["delivery_id"]))
        if d is None or d.status in ("delivered", "failed"):
            return {"status": d.status if d else "gone"}
        sub = s.get(WebhookSubscription, d.subscription_id)
        if sub is None:
            return {"status": "gone"}
        body = json.dumps(
            {"id": str(d.id), "event": d.event, "created_at": d.created_at.isoformat(), "data": d.payload},
            separators=(",", ":"),
            sort_keys=True,
        ).encode()
        url, secret, delivery_id, event_name = (
            sub.url,
            ctx.box.decrypt_str(sub.secret_encrypted),
            d.id,
            d.event,
        )
    ts = int(time.time())
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "frontiersec-webhooks/1",
        "X-Frontiersec-Event": event_name,
        "X-Frontiersec-Delivery": str(delivery_id),
        "X-Frontiersec-Timestamp": str(ts),
        "X-Frontiersec-Signature": sign_body(secret, ts, body),
    }
    code: int | None = None
    error: str | None = None
    try:
        with httpx.Client(transport=ctx.http_transport, timeout=settings.webhook_timeout_s) as client:
            resp = client.post(url, content=body, headers=headers)
        code = resp.status_code
        if not 200 <= code < 300:
            error = f"HTTP {code}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"[:500]
    with session_scope(ctx.sessions) as s:
        d2 = s.get(WebhookDelivery, delivery_id)
        assert d2 is not None
        d2.attempts += 1
        d2.last_status_code = code
        d2.last_error = error
        if error is None:
            d2.status, d2.delivered_at, d2.next_attempt_at = "delivered", utcnow(), None
            return {"status": "delivered", "attempts": d2.attempts}
        if d2.attempts >= settings.webhook_max_attempts:
            d2.status, d2.next_attempt_at = "failed", None
            return {"status": "failed", "attempts": d2.attempts, "error": error}
        delay = settings.webhook_backoff_base_s * 2 ** (d2.attempts - 1)
        d2.status = "retrying"
        d2.next_attempt_at = utcnow() + dt.timedelta(seconds=delay)
        attempts = d2.attempts
    raise RetryLater(delay, f"attempt {attempts} failed ({error}); retrying in {delay:.0f}s")


def ping_subscription(session: Session, principal: Principal, sub_id: uuid.UUID) -> WebhookDelivery:
    """Queue a signed ``ping`` event to one subscription, to test the endpoint."""
    principal.require_role(Role.ADMIN, "managing webhooks")
    sub = get_subscription(session, principal, sub_id)
    (delivery,) = emit_event(
        session, "ping", {"webhook_id": str(sub.id)}, org_ids=[sub.owner_org_id], only_subscription=sub.id
    )
    return delivery

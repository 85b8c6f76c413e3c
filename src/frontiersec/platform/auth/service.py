"""Use cases of the identity area: organisations, users, sessions, API tokens, shares."""

from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets
import uuid
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontiersec.platform.audit.service import record
from frontiersec.platform.auth.models import (
    ApiToken,
    Membership,
    Organization,
    OrgKind,
    Role,
    Share,
    User,
    WebSession,
)
from frontiersec.platform.auth.passwords import hash_password, verify_password
from frontiersec.platform.auth.principal import Principal
from frontiersec.platform.auth.visibility import can_reshare
from frontiersec.platform.clock import utcnow
from frontiersec.platform.errors import (
    AuthenticationRequired,
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
)

__all__ = [
    "TOKEN_PREFIX",
    "VALID_SCOPES",
    "add_share",
    "authenticate_password",
    "create_org",
    "create_token",
    "create_user",
    "end_web_session",
    "ensure_program_office",
    "find_org",
    "get_org",
    "list_members",
    "list_orgs",
    "list_tokens",
    "principal_for_email",
    "principal_for_user_id",
    "principal_from_token",
    "principal_from_web_session",
    "revoke_token",
    "shares_of",
    "start_web_session",
]

TOKEN_PREFIX = "fsk_"
VALID_SCOPES = frozenset({"read", "write", "admin"})
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_SLUG = re.compile(r"[^a-z0-9]+")
MIN_PASSWORD = 12


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def _slugify(name: str) -> str:
    return _SLUG.sub("-", name.lower()).strip("-")[:64] or "org"


def create_org(
    session: Session, principal: Principal, *, name: str, kind: str, sector: str | None = None
) -> Organization:
    """Register an organisation (platform operators only)."""
    principal.require_operator("creating organisations")
    name = name.strip()
    if not name:
        raise InvalidInput.on("name", "must not be empty")
    try:
        kind = OrgKind(kind).value
    except ValueError:
        raise InvalidInput.on("kind", f"must be one of {', '.join(k.value for k in OrgKind)}") from None
    slug = _slugify(name)
    exists = session.execute(
        select(Organization.id).where((Organization.name == name) | (Organization.slug == slug))
    ).first()
    if exists:
        raise Conflict(f"an organisation named {name!r} already exists")
    org = Organization(name=name, slug=slug, kind=kind, sector=sector)
    session.add(org)
    session.flush()
    record(
        session,
        principal,
        "org.create",
        object_type="organization",
        object_id=org.id,
        details={"name": name, "kind": kind},
    )
    return org


def get_org(session: Session, principal: Principal, org_id: uuid.UUID) -> Organization:
    """An organisation; every signed-in user may see the directory of participants."""
    org = session.get(Organization, org_id)
    if org is None:
        raise NotFound(f"organisation {org_id} not found")
    return org


def find_org(session: Session, ref: str) -> Organization:
    """Look an organisation up by slug, name or id (for the CLI)."""
    stmt = select(Organization).where((Organization.slug == ref) | (Organization.name == ref))
    org = session.execute(stmt).scalars().first()
    if org is None:
        try:
            org = session.get(Organization, uuid.UUID(ref))
        except ValueError:
            org = None
    if org is None:
        raise NotFound(f"organisation {ref!r} not found")
    return org


def list_orgs(session: Session, principal: Principal) -> Sequence[Organization]:
    """The participant directory, by name."""
    return session.execute(select(Organization).order_by(Organization.name)).scalars().all()


def create_user(
    session: Session,
    principal: Principal,
    *,
    email: str,
    display_name: str,
    password: str | None,
    org_id: uuid.UUID,
    role: str = Role.MEMBER.value,
    is_operator: bool = False,
) -> User:
    """Create a user inside ``org_id`` (operators anywhere, organisation admins in their own)."""
    if not (principal.is_operator or (principal.org_id == org_id and principal.has_role(Role.ADMIN))):
        raise PermissionDenied("only an admin of this organisation or an operator can add users")
    if is_operator:
        principal.require_operator("creating operators")
    email = email.strip().lower()
    if not _EMAIL.match(email):
        raise InvalidInput.on("email", "is not an email address")
    try:
        role = Role(role).value
    except ValueError:
        raise InvalidInput.on("role", f"must be one of {', '.join(r.value for r in Role)}") from None
    if password is not None and len(password) < MIN_PASSWORD:
        raise InvalidInput.on("password", f"must be at least {MIN_PASSWORD} characters")
    if session.get(Organization, org_id) is None:
        raise InvalidInput.on("org_id", "no such organisation")
    if session.execute(select(User.id).where(User.email == email)).first():
        raise Conflict(f"a user with email {email} already exists")
    user = User(
        email=email,
        display_name=display_name.strip() or email,
        password_hash=hash_password(password) if password else None,
        is_operator=is_operator,
    )
    session.add(user)
    session.flush()
    session.add(Membership(user_id=user.id, org_id=org_id, role=role))
    session.flush()
    record(
        session,
        principal,
        "user.create",
        object_type="user",
        object_id=user.id,
        details={"email": email, "org_id": str(org_id), "role": role},
    )
    return user


def list_members(
    session: Session, principal: Principal, org_id: uuid.UUID
) -> Sequence[tuple[User, Membership]]:
    """Users of an organisation with their role (members of that organisation and operators)."""
    if not principal.is_operator and principal.org_id != org_id:
        raise NotFound(f"organisation {org_id} not found")
    rows = session.execute(
        select(User, Membership)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.org_id == org_id)
        .order_by(User.email)
    ).all()
    return [(u, m) for u, m in rows]


def _principal(
    session: Session,
    user: User,
    *,
    via: str,
    ip: str | None,
    scopes: frozenset[str] | None = None,
    org_id: uuid.UUID | None = None,
) -> Principal:
    stmt = (
        select(Membership, Organization)
        .join(Organization, Organization.id == Membership.org_id)
        .where(Membership.user_id == user.id)
    )
    if org_id is not None:
        stmt = stmt.where(Membership.org_id == org_id)
    row = session.execute(stmt.order_by(Membership.created_at)).first()
    if row is None:
        if not user.is_operator:
            raise AuthenticationRequired("this account belongs to no organisation")
        return Principal(
            user_id=user.id,
            email=user.email,
            org_id=None,
            org_kind=None,
            role=Role.ADMIN,
            is_operator=True,
            via=via,
            ip=ip,
        )
    membership, org = row
    return Principal(
        user_id=user.id,
        email=user.email,
        org_id=org.id,
        org_kind=org.kind,
        role=Role(membership.role),
        is_operator=user.is_operator,
        scopes=scopes if scopes is not None else frozenset(VALID_SCOPES),
        via=via,
        ip=ip,
    )


def principal_for_email(session: Session, email: str, *, via: str = "cli") -> Principal:
    """The principal of a user by email (the CLI's ``--as``)."""
    user = session.execute(select(User).where(User.email == email.strip().lower())).scalars().first()
    if user is None or not user.is_active:
        raise NotFound(f"no active user {email!r}")
    return _principal(session, user, via=via, ip=None)


def authenticate_password(session: Session, email: str, password: str, *, ip: str | None) -> Principal:
    """Check a password; failures are audited and answered with one generic message."""
    user = session.execute(select(User).where(User.email == email.strip().lower())).scalars().first()
    ok = verify_password(user.password_hash if user else None, password)
    if not ok or user is None or not user.is_active:
        anon = Principal(
            user_id=None,
            email=email.strip().lower()[:320],
            org_id=None,
            org_kind=None,
            role=Role.VIEWER,
            via="session",
            ip=ip,
        )
        record(session, anon, "auth.login_failed")
        raise AuthenticationRequired("wrong email or password")
    user.last_login_at = utcnow()
    principal = _principal(session, user, via="session", ip=ip)
    record(session, principal, "auth.login", object_type="user", object_id=user.id)
    return principal


def start_web_session(session: Session, principal: Principal, *, max_age_s: int) -> str:
    """Create a server-side session; returns the cookie value (shown only to the browser)."""
    assert principal.user_id is not None
    raw = secrets.token_urlsafe(32)
    org_id = principal.org_id
    if org_id is None:
        raise AuthenticationRequired("this account belongs to no organisation")
    session.add(
        WebSession(
            token_hash=_sha256(raw),
            user_id=principal.user_id,
            org_id=org_id,
            ip=principal.ip,
            expires_at=utcnow() + dt.timedelta(seconds=max_age_s),
        )
    )
    session.flush()
    return raw


def principal_from_web_session(session: Session, raw: str, *, ip: str | None) -> Principal | None:
    """The principal behind a session cookie, or ``None`` when it is unknown, expired or ended."""
    ws = session.execute(select(WebSession).where(WebSession.token_hash == _sha256(raw))).scalars().first()
    if ws is None or ws.revoked_at is not None or ws.expires_at <= utcnow():
        return None
    user = session.get(User, ws.user_id)
    if user is None or not user.is_active:
        return None
    return _principal(session, user, via="session", ip=ip, org_id=ws.org_id)


def end_web_session(session: Session, raw: str, principal: Principal) -> None:
    """Log out: the session cookie stops working at once."""
    ws = session.execute(select(WebSession).where(WebSession.token_hash == _sha256(raw))).scalars().first()
    if ws is not None and ws.revoked_at is None:
        ws.revoked_at = utcnow()
        session.flush()
    record(session, principal, "auth.logout", object_type="user", object_id=principal.user_id)


def create_token(
    session: Session,
    principal: Principal,
    *,
    name: str,
    scopes: Sequence[str] = ("read",),
    expires_in_days: int = 90,
) -> tuple[ApiToken, str]:
    """Create an API token for the acting user. The secret is returned once and stored hashed."""
    if principal.user_id is None or principal.org_id is None:
        raise PermissionDenied("tokens belong to a user of an organisation")
    bad = sorted(set(scopes) - VALID_SCOPES)
    if bad or not scopes:
        raise InvalidInput.on("scopes", f"unknown scope(s) {bad}; valid: {sorted(VALID_SCOPES)}")
    if not set(scopes) <= principal.scopes:
        raise PermissionDenied("a token cannot carry scopes its creator lacks")
    if "admin" in scopes and not principal.has_role(Role.ADMIN):
        raise PermissionDenied("the admin scope needs the admin role")
    if not 1 <= expires_in_days <= 366:
        raise InvalidInput.on("expires_in_days", "must be between 1 and 366")
    if not name.strip():
        raise InvalidInput.on("name", "must not be empty")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    tok = ApiToken(
        user_id=principal.user_id,
        org_id=principal.org_id,
        name=name.strip()[:100],
        prefix=raw[:12],
        token_hash=_sha256(raw),
        scopes=sorted(set(scopes)),
        expires_at=utcnow() + dt.timedelta(days=expires_in_days),
    )
    session.add(tok)
    session.flush()
    record(
        session,
        principal,
        "token.create",
        object_type="api_token",
        object_id=tok.id,
        details={"name": tok.name, "scopes": tok.scopes, "expires_at": tok.expires_at.isoformat()},
    )
    return tok, raw


def list_tokens(session: Session, principal: Principal) -> Sequence[ApiToken]:
    """The acting user's tokens (never their secrets)."""
    return (
        session.execute(
            select(ApiToken).where(ApiToken.user_id == principal.user_id).order_by(ApiToken.created_at.desc())
        )
        .scalars()
        .all()
    )


def revoke_token(session: Session, principal: Principal, token_id: uuid.UUID) -> ApiToken:
    """Revoke one of the acting user's tokens (or any, for an operator); takes effect at once."""
    tok = session.get(ApiToken, token_id)
    if tok is None or (tok.user_id != principal.user_id and not principal.is_operator):
        raise NotFound(f"token {token_id} not found")
    if tok.revoked_at is None:
        tok.revoked_at = utcnow()
        record(session, principal, "token.revoke", object_type="api_token", object_id=tok.id)
    session.flush()
    return tok


def principal_from_token(session: Session, raw: str, *, ip: str | None) -> Principal:
    """The principal behind a bearer token; unknown, expired and revoked tokens are refused."""
    tok = session.execute(select(ApiToken).where(ApiToken.token_hash == _sha256(raw))).scalars().first()
    if tok is None:
        raise AuthenticationRequired("unknown API token")
    if tok.revoked_at is not None:
        raise AuthenticationRequired("this API token was revoked")
    if tok.expires_at <= utcnow():
        raise AuthenticationRequired("this API token has expired")
    user = session.get(User, tok.user_id)
    if user is None or not user.is_active:
        raise AuthenticationRequired("the token's user is disabled")
    tok.last_used_at = utcnow()
    return _principal(session, user, via="token", ip=ip, scopes=frozenset(tok.scopes), org_id=tok.org_id)


def add_share(
    session: Session,
    principal: Principal,
    *,
    object_type: str,
    object_id: uuid.UUID,
    tlp: str,
    owner_org_id: uuid.UUID,
    org_id: uuid.UUID | None = None,
    user_id: uuid.UUID | None = None,
) -> Share:
    """Share a record with a named organisation (AMBER) or a named user (RED)."""
    if (org_id is None) == (user_id is None):
        raise InvalidInput.on("org_id", "give exactly one of org_id or user_id")
    if not can_reshare(principal, tlp=tlp, owner_org_id=owner_org_id):
        raise PermissionDenied(f"only the owner organisation may share {tlp} material")
    if org_id is not None and session.get(Organization, org_id) is None:
        raise InvalidInput.on("org_id", "no such organisation")
    if user_id is not None and session.get(User, user_id) is None:
        raise InvalidInput.on("user_id", "no such user")
    existing = (
        session.execute(
            select(Share).where(
                Share.object_type == object_type,
                Share.object_id == object_id,
                Share.org_id.is_(None) if org_id is None else Share.org_id == org_id,
                Share.user_id.is_(None) if user_id is None else Share.user_id == user_id,
            )
        )
        .scalars()
        .first()
    )
    if existing is not None:  # sharing twice is a no-op
        return existing
    share = Share(
        object_type=object_type,
        object_id=object_id,
        org_id=org_id,
        user_id=user_id,
        created_by=principal.user_id,
    )
    session.add(share)
    session.flush()
    record(
        session,
        principal,
        "share.create",
        object_type=object_type,
        object_id=object_id,
        tlp=tlp,
        details={"org_id": str(org_id) if org_id else None, "user_id": str(user_id) if user_id else None},
    )
    return share


def shares_of(session: Session, object_type: str, object_id: uuid.UUID) -> Sequence[Share]:
    """Every share of one record."""
    return (
        session.execute(select(Share).where(Share.object_type == object_type, Share.object_id == object_id))
        .scalars()
        .all()
    )


PROGRAM_OFFICE = "frontiersec program office"


def ensure_program_office(session: Session) -> Organization:
    """The deployment's own organisation, owner of public reference data (KEV, OSV, CWE)."""
    org = session.execute(select(Organization).where(Organization.slug == "program-office")).scalars().first()
    if org is None:
        org = Organization(name=PROGRAM_OFFICE, slug="program-office", kind=OrgKind.GOVERNMENT_AGENCY.value)
        session.add(org)
        session.flush()
    return org


def principal_for_user_id(session: Session, user_id: uuid.UUID, *, via: str = "job") -> Principal:
    """The principal of a user by id (jobs act for the user who started them)."""
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"user {user_id} not found")
    return _principal(session, user, via=via, ip=None)

"""Demo data: organisations of every kind, their users, and the real CISA KEV catalog."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from frontiersec.clearinghouse import demo as clearinghouse_demo
from frontiersec.clearinghouse.service import load_kev, read_kev_file
from frontiersec.designation import demo as designation_demo
from frontiersec.evals import demo as evals_demo
from frontiersec.partners import demo as partners_demo
from frontiersec.platform.auth.models import Organization, User
from frontiersec.platform.auth.principal import SYSTEM
from frontiersec.platform.auth.service import create_org, create_user, ensure_program_office
from frontiersec.platform.errors import InvalidInput
from frontiersec.platform.secrets_box import SecretBox
from frontiersec.review import demo as review_demo

__all__ = ["DEMO_PASSWORD", "DEMO_USERS", "demo_logins", "has_users", "load_demo"]

DEMO_PASSWORD = "frontiersec-demo"

# In dependency order: evaluations feed review and designation; partners need a determination.
AREA_DEMOS = [
    ("clearinghouse", clearinghouse_demo),
    ("evals", evals_demo),
    ("review", review_demo),
    ("designation", designation_demo),
    ("partners", partners_demo),
]

# (organisation, kind, sector) and its users: (email, name, role, what they come to do)
DEMO_ORGS: list[tuple[str, str, str | None]] = [
    ("CISA (demo)", "government_agency", "federal civilian"),
    ("NSA Evaluations (demo)", "government_agency", "national security"),
    ("Treasury Clearinghouse (demo)", "government_agency", "federal civilian"),
    ("Example AI Lab", "ai_developer", None),
    ("Example Security Vendor", "security_vendor", None),
    ("Example Regional Bank", "critical_infrastructure_operator", "banking"),
    ("Example Water Utility", "critical_infrastructure_operator", "water"),
    ("Example OSS Maintainers", "maintainer", None),
    ("Independent Researcher", "researcher", None),
]


@dataclass(frozen=True)
class DemoUser:
    email: str
    name: str
    org: str
    role: str
    what: str
    operator: bool = False


DEMO_USERS: list[DemoUser] = [
    DemoUser(
        "operator@frontiersec.example",
        "Olive Operator",
        "frontiersec program office",
        "admin",
        "platform operator (sees everything)",
        operator=True,
    ),
    DemoUser("analyst@cisa.example", "Ana Analyst", "CISA (demo)", "analyst", "vulnerability analyst"),
    DemoUser("admin@cisa.example", "Casey Admin", "CISA (demo)", "admin", "agency admin"),
    DemoUser(
        "evaluator@nsa.example", "Eve Evaluator", "NSA Evaluations (demo)", "analyst", "benchmark official"
    ),
    DemoUser(
        "analyst@treasury.example",
        "Theo Treasury",
        "Treasury Clearinghouse (demo)",
        "analyst",
        "clearinghouse analyst",
    ),
    DemoUser("security@ailab.example", "Sam Security", "Example AI Lab", "admin", "AI-lab security engineer"),
    DemoUser("psirt@vendor.example", "Pat PSIRT", "Example Security Vendor", "member", "vendor PSIRT"),
    DemoUser(
        "soc@bank.example", "Bo Bank", "Example Regional Bank", "member", "critical-infrastructure operator"
    ),
    DemoUser(
        "ot@water.example", "Wes Water", "Example Water Utility", "member", "critical-infrastructure operator"
    ),
    DemoUser("maintainer@oss.example", "Mia Maintainer", "Example OSS Maintainers", "admin", "maintainer"),
    DemoUser("auditor@cisa.example", "Aud Auditor", "CISA (demo)", "viewer", "auditor (read-only)"),
]


def load_demo(session: Session, settings: Any, box: SecretBox) -> dict[str, Any]:
    """Create the demo organisations and users (once), load the real KEV catalog, then let each
    area add its own demo records (clearinghouse, evaluations, review, designation, partners)."""
    office = ensure_program_office(session)
    orgs = {o.name: o for o in session.execute(select(Organization)).scalars()}
    orgs[office.name] = office
    for name, kind, sector in DEMO_ORGS:
        if name not in orgs:
            orgs[name] = create_org(session, SYSTEM, name=name, kind=kind, sector=sector)
    existing = set(session.execute(select(User.email)).scalars())
    created = 0
    for u in DEMO_USERS:
        if u.email in existing:
            continue
        create_user(
            session,
            SYSTEM,
            email=u.email,
            display_name=u.name,
            password=DEMO_PASSWORD,
            org_id=orgs[u.org].id,
            role=u.role,
            is_operator=u.operator,
        )
        created += 1
    kev_path = settings.demo_data / "cisa-kev" / "known_exploited_vulnerabilities.json"
    if not kev_path.exists():
        raise InvalidInput.on("FRONTIERSEC_DEMO_DATA", f"no KEV catalog at {kev_path}")
    kev = load_kev(
        session,
        SYSTEM,
        read_kev_file(kev_path),
        schema_path=kev_path.parent / "known_exploited_vulnerabilities_schema.json",
        source=kev_path.name,
    )
    out: dict[str, Any] = {"organisations": len(DEMO_ORGS) + 1, "users_created": created, "kev": kev.__dict__}
    for name, area in AREA_DEMOS:
        out[name] = area.seed_demo(session, settings, box)
    return out


def demo_logins(session: Session) -> dict[str, Any]:
    """The demo accounts to show on the sign-in page, when the demo data is loaded."""
    present = set(
        session.execute(select(User.email).where(User.email.in_([u.email for u in DEMO_USERS]))).scalars()
    )
    if not present:
        return {}
    return {
        "demo_logins": [(u.email, u.what) for u in DEMO_USERS if u.email in present],
        "demo_password": DEMO_PASSWORD,
    }


def has_users(session: Session) -> bool:
    """Whether any user exists (``serve`` loads the demo into a database without one)."""
    return session.execute(select(User.id).limit(1)).first() is not None

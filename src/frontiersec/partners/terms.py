"""The standard terms a trusted partner accepts before an access grant activates (pure).

A grant stores the exact text, its version and its SHA-256; the partner accepts by naming that
SHA-256, so an acceptance always says which words were agreed to.
"""

from __future__ import annotations

import hashlib

__all__ = ["TERMS_TEXT", "TERMS_VERSION", "terms_sha256"]

TERMS_VERSION = "2026-06.1"

TERMS_TEXT = """Trusted-partner early access: terms of use (version 2026-06.1)

1. Purpose. The partner uses the model only for the defensive purpose stated in the grant: finding,
   validating and fixing vulnerabilities in systems the partner owns or operates, or is authorised
   to test. No offensive use against third parties.
2. Scope. Access is limited to the model version, access level, period and usage cap of the grant.
   The developer's gateway refuses calls outside them; a revoked grant is refused at once.
3. Confidentiality. Model outputs, system cards and evaluation material are confidential (TLP:AMBER)
   and are shared only with staff of the partner who need them for the purpose.
4. Findings. Vulnerabilities found with the model are reported to the clearinghouse with the model as
   their provenance, and handled under coordinated vulnerability disclosure.
5. Usage reports. The partner reports usage as the grant requires, truthfully and on time.
6. Revocation. The developer or the co-deciding agency may revoke the grant at any time with a reason;
   the partner stops using the model when told.
7. No licence. This grant is early access for defence; it is not a licence, approval or endorsement
   of the model, and it does not block or delay the model's release.
"""


def terms_sha256(text: str) -> str:
    """The SHA-256 (hex) of the terms' UTF-8 text."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()

"""Imports every area's models so ``Base.metadata`` (and Alembic) sees all tables."""

from frontiersec.clearinghouse import kb_models as clearinghouse_kb_models
from frontiersec.clearinghouse import models as clearinghouse_models
from frontiersec.designation import models as designation_models
from frontiersec.evals import models as evals_models
from frontiersec.partners import models as partners_models
from frontiersec.platform import models as platform_models
from frontiersec.platform.audit import models as audit_models
from frontiersec.platform.auth import models as auth_models
from frontiersec.platform.db import Base
from frontiersec.review import models as review_models

__all__ = [
    "Base",
    "audit_models",
    "auth_models",
    "clearinghouse_kb_models",
    "clearinghouse_models",
    "designation_models",
    "evals_models",
    "partners_models",
    "platform_models",
    "review_models",
]

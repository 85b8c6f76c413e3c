"""Imports every area's models so ``Base.metadata`` (and Alembic) sees all tables."""

from frontiersec.clearinghouse import models as clearinghouse_models
from frontiersec.platform import models as platform_models
from frontiersec.platform.audit import models as audit_models
from frontiersec.platform.auth import models as auth_models
from frontiersec.platform.db import Base

__all__ = ["Base", "audit_models", "auth_models", "clearinghouse_models", "platform_models"]

"""finding intake: dedup layer 3 indexes

Adds ``findings.dedup_locus`` (hash of target and path, the layer-3 blocking key) and its index.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("dedup_locus", sa.String(length=32), nullable=True))
        batch_op.create_index(batch_op.f("ix_findings_dedup_locus"), ["dedup_locus"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("findings", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_findings_dedup_locus"))
        batch_op.drop_column("dedup_locus")

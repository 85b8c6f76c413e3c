"""vulnerability clusters: manual split/merge, imports

Manual merge and split decisions are ``cluster_merges`` rows of layer 0 that also say what kind of
decision it was, who took it, and which findings it moved (so it can be undone).

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("cluster_merges", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("actor_id", sa.Uuid(), nullable=True))
        batch_op.add_column(sa.Column("finding_ids", sa.JSON(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_cluster_merges_actor_id_users"), "users", ["actor_id"], ["id"], ondelete="SET NULL"
        )
        batch_op.create_index(
            batch_op.f("ix_cluster_merges_merged_cluster_id"), ["merged_cluster_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("cluster_merges", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cluster_merges_merged_cluster_id"))
        batch_op.drop_constraint(batch_op.f("fk_cluster_merges_actor_id_users"), type_="foreignkey")
        batch_op.drop_column("finding_ids")
        batch_op.drop_column("actor_id")
        batch_op.drop_column("kind")

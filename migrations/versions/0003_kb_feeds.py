"""EPSS scores, CWE names and feed sync state (knowledge base feeds)

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import frontiersec.platform.db

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "cwe_entries",
        sa.Column("cwe_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("abstraction", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("catalog_version", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("cwe_id", name=op.f("pk_cwe_entries")),
    )
    op.create_table(
        "cwe_relations",
        sa.Column("child_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("parent_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("view_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("nature", sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint("child_id", "parent_id", "view_id", name=op.f("pk_cwe_relations")),
    )
    with op.batch_alter_table("cwe_relations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_cwe_relations_parent_id"), ["parent_id"], unique=False)

    op.create_table(
        "epss_scores",
        sa.Column("cve_id", sa.String(length=32), nullable=False),
        sa.Column("epss", sa.Float(), nullable=False),
        sa.Column("percentile", sa.Float(), nullable=False),
        sa.Column("model_version", sa.String(length=32), nullable=False),
        sa.Column("score_date", sa.Date(), nullable=False),
        sa.PrimaryKeyConstraint("cve_id", name=op.f("pk_epss_scores")),
    )
    with op.batch_alter_table("epss_scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_epss_scores_score_date"), ["score_date"], unique=False)

    op.create_table(
        "kb_feed_state",
        sa.Column("feed", sa.String(length=64), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("etag", sa.String(length=500), nullable=True),
        sa.Column("last_modified", sa.String(length=64), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("last_checked_at", frontiersec.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_loaded_at", frontiersec.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_status", sa.String(length=16), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_result", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("feed", name=op.f("pk_kb_feed_state")),
    )


def downgrade() -> None:
    op.drop_table("kb_feed_state")
    with op.batch_alter_table("epss_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_epss_scores_score_date"))
    op.drop_table("epss_scores")
    with op.batch_alter_table("cwe_relations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_cwe_relations_parent_id"))
    op.drop_table("cwe_relations")
    op.drop_table("cwe_entries")

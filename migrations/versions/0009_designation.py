"""designation policies, determinations, reconsideration

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import frontiersec.platform.db

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "designation_officials",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("granted_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["granted_by"],
            ["users.id"],
            name=op.f("fk_designation_officials_granted_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_designation_officials_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_designation_officials")),
        sa.UniqueConstraint("user_id", name=op.f("uq_designation_officials_user_id")),
    )
    op.create_table(
        "designation_policies",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("effective", sa.String(length=10), nullable=True),
        sa.Column("commitment", sa.String(length=64), nullable=False),
        sa.Column("summary", sa.JSON(), nullable=False),
        sa.Column("confidential_thresholds", sa.Boolean(), nullable=False),
        sa.Column("document_encrypted", sa.Text(), nullable=False),
        sa.Column("owner_org_id", sa.Uuid(), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_designation_policies_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_designation_policies_owner_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_designation_policies")),
        sa.UniqueConstraint("version", name=op.f("uq_designation_policies_version")),
    )
    with op.batch_alter_table("designation_policies", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_designation_policies_owner_org_id"), ["owner_org_id"], unique=False
        )
    op.create_table(
        "designation_determinations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("model_name", sa.String(length=200), nullable=False),
        sa.Column("model_version", sa.String(length=100), nullable=False),
        sa.Column("issuer_org_id", sa.Uuid(), nullable=False),
        sa.Column("policy_id", sa.Uuid(), nullable=False),
        sa.Column("policy_version", sa.String(length=32), nullable=False),
        sa.Column("policy_commitment", sa.String(length=64), nullable=False),
        sa.Column("result", sa.String(length=32), nullable=False),
        sa.Column("basis", sa.String(length=20), nullable=False),
        sa.Column("criteria", sa.JSON(), nullable=False),
        sa.Column("thresholds_encrypted", sa.Text(), nullable=True),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("document", sa.JSON(), nullable=False),
        sa.Column("signature_kid", sa.String(length=64), nullable=False),
        sa.Column("issued_at", frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("submission_id", sa.Uuid(), nullable=True),
        sa.Column("submitted_at", frontiersec.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("supersedes_id", sa.Uuid(), nullable=True),
        sa.Column("superseded_by_id", sa.Uuid(), nullable=True),
        sa.Column("reevaluation_due_at", frontiersec.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("reevaluation_reason", sa.String(length=300), nullable=True),
        sa.Column("reevaluation_version", sa.String(length=100), nullable=True),
        sa.Column("owner_org_id", sa.Uuid(), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_designation_determinations_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["issuer_org_id"],
            ["organizations.id"],
            name=op.f("fk_designation_determinations_issuer_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_designation_determinations_owner_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["policy_id"],
            ["designation_policies.id"],
            name=op.f("fk_designation_determinations_policy_id_designation_policies"),
        ),
        sa.ForeignKeyConstraint(
            ["supersedes_id"],
            ["designation_determinations.id"],
            name=op.f("fk_designation_determinations_supersedes_id_designation_determinations"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_designation_determinations")),
    )
    with op.batch_alter_table("designation_determinations", schema=None) as batch_op:
        batch_op.create_index(
            "ix_designation_determinations_model", ["model_name", "model_version"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_designation_determinations_owner_org_id"), ["owner_org_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_designation_determinations_policy_id"), ["policy_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_designation_determinations_result"), ["result"], unique=False)
        batch_op.create_index(batch_op.f("ix_designation_determinations_status"), ["status"], unique=False)
    op.create_table(
        "designation_notices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("determination_id", sa.Uuid(), nullable=False),
        sa.Column("headline", sa.String(length=300), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("policy_summary", sa.JSON(), nullable=False),
        sa.Column("owner_org_id", sa.Uuid(), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_designation_notices_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["determination_id"],
            ["designation_determinations.id"],
            name=op.f("fk_designation_notices_determination_id_designation_determinations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_designation_notices_owner_org_id_organizations"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_designation_notices")),
    )
    with op.batch_alter_table("designation_notices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_designation_notices_determination_id"), ["determination_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_designation_notices_owner_org_id"), ["owner_org_id"], unique=False
        )
    op.create_table(
        "designation_reconsiderations",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("determination_id", sa.Uuid(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("requested_at", frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("request_deadline", frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decision_due", frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("review_started_at", frontiersec.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("review_started_by", sa.Uuid(), nullable=True),
        sa.Column("decided_at", frontiersec.platform.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("decided_by", sa.Uuid(), nullable=True),
        sa.Column("decision_rationale", sa.Text(), nullable=True),
        sa.Column("new_determination_id", sa.Uuid(), nullable=True),
        sa.Column("owner_org_id", sa.Uuid(), nullable=False),
        sa.Column("tlp", sa.String(length=16), nullable=False),
        sa.Column("created_by", sa.Uuid(), nullable=True),
        sa.Column("created_at", frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["created_by"],
            ["users.id"],
            name=op.f("fk_designation_reconsiderations_created_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["decided_by"],
            ["users.id"],
            name=op.f("fk_designation_reconsiderations_decided_by_users"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["determination_id"],
            ["designation_determinations.id"],
            name=op.f("fk_designation_reconsiderations_determination_id_designation_determinations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["new_determination_id"],
            ["designation_determinations.id"],
            name=op.f("fk_designation_reconsiderations_new_determination_id_designation_determinations"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["owner_org_id"],
            ["organizations.id"],
            name=op.f("fk_designation_reconsiderations_owner_org_id_organizations"),
        ),
        sa.ForeignKeyConstraint(
            ["review_started_by"],
            ["users.id"],
            name=op.f("fk_designation_reconsiderations_review_started_by_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_designation_reconsiderations")),
    )
    with op.batch_alter_table("designation_reconsiderations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_designation_reconsiderations_determination_id"), ["determination_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_designation_reconsiderations_owner_org_id"), ["owner_org_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_designation_reconsiderations_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("designation_reconsiderations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_designation_reconsiderations_status"))
        batch_op.drop_index(batch_op.f("ix_designation_reconsiderations_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_designation_reconsiderations_determination_id"))
    op.drop_table("designation_reconsiderations")
    with op.batch_alter_table("designation_notices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_designation_notices_owner_org_id"))
        batch_op.drop_index(batch_op.f("ix_designation_notices_determination_id"))
    op.drop_table("designation_notices")
    with op.batch_alter_table("designation_determinations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_designation_determinations_status"))
        batch_op.drop_index(batch_op.f("ix_designation_determinations_result"))
        batch_op.drop_index(batch_op.f("ix_designation_determinations_policy_id"))
        batch_op.drop_index(batch_op.f("ix_designation_determinations_owner_org_id"))
        batch_op.drop_index("ix_designation_determinations_model")
    op.drop_table("designation_determinations")
    with op.batch_alter_table("designation_policies", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_designation_policies_owner_org_id"))
    op.drop_table("designation_policies")
    op.drop_table("designation_officials")

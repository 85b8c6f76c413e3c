"""trusted partners, grants

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import frontiersec.platform.db

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('partner_nominations',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('model_name', sa.String(length=200), nullable=False),
    sa.Column('model_version', sa.String(length=100), nullable=False),
    sa.Column('agency_org_id', sa.Uuid(), nullable=False),
    sa.Column('partner_org_id', sa.Uuid(), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('nominated_side', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('owner_org_id', sa.Uuid(), nullable=False),
    sa.Column('tlp', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['agency_org_id'], ['organizations.id'], name=op.f('fk_partner_nominations_agency_org_id_organizations')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_partner_nominations_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_org_id'], ['organizations.id'], name=op.f('fk_partner_nominations_owner_org_id_organizations')),
    sa.ForeignKeyConstraint(['partner_org_id'], ['organizations.id'], name=op.f('fk_partner_nominations_partner_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_nominations'))
    )
    with op.batch_alter_table('partner_nominations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_nominations_agency_org_id'), ['agency_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_partner_nominations_model_name'), ['model_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_partner_nominations_owner_org_id'), ['owner_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_partner_nominations_partner_org_id'), ['partner_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_partner_nominations_status'), ['status'], unique=False)

    op.create_table('partner_approvals',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('nomination_id', sa.Uuid(), nullable=False),
    sa.Column('side', sa.String(length=16), nullable=False),
    sa.Column('org_id', sa.Uuid(), nullable=False),
    sa.Column('decision', sa.String(length=16), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('decided_by', sa.Uuid(), nullable=True),
    sa.Column('decided_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_partner_approvals_decided_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['nomination_id'], ['partner_nominations.id'], name=op.f('fk_partner_approvals_nomination_id_partner_nominations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['org_id'], ['organizations.id'], name=op.f('fk_partner_approvals_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_approvals')),
    sa.UniqueConstraint('nomination_id', 'side', name=op.f('uq_partner_approvals_nomination_id'))
    )
    with op.batch_alter_table('partner_approvals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_approvals_nomination_id'), ['nomination_id'], unique=False)

    op.create_table('partner_checklist_items',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('nomination_id', sa.Uuid(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=300), nullable=False),
    sa.Column('required', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('checked_by', sa.Uuid(), nullable=True),
    sa.Column('checked_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['checked_by'], ['users.id'], name=op.f('fk_partner_checklist_items_checked_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['nomination_id'], ['partner_nominations.id'], name=op.f('fk_partner_checklist_items_nomination_id_partner_nominations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_checklist_items')),
    sa.UniqueConstraint('nomination_id', 'key', name=op.f('uq_partner_checklist_items_nomination_id'))
    )
    with op.batch_alter_table('partner_checklist_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_checklist_items_nomination_id'), ['nomination_id'], unique=False)

    op.create_table('partner_grants',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('nomination_id', sa.Uuid(), nullable=False),
    sa.Column('partner_org_id', sa.Uuid(), nullable=False),
    sa.Column('model_name', sa.String(length=200), nullable=False),
    sa.Column('model_version', sa.String(length=100), nullable=False),
    sa.Column('purpose', sa.Text(), nullable=False),
    sa.Column('access_level', sa.String(length=20), nullable=False),
    sa.Column('starts_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('usage_cap', sa.BigInteger(), nullable=False),
    sa.Column('usage_unit', sa.String(length=16), nullable=False),
    sa.Column('used_units', sa.BigInteger(), nullable=False),
    sa.Column('review_window_closes_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('window_waived', sa.Boolean(), nullable=False),
    sa.Column('waiver_reason', sa.Text(), nullable=True),
    sa.Column('waived_by', sa.Uuid(), nullable=True),
    sa.Column('terms_version', sa.String(length=40), nullable=False),
    sa.Column('terms_text', sa.Text(), nullable=False),
    sa.Column('terms_sha256', sa.String(length=64), nullable=False),
    sa.Column('accepted_by', sa.Uuid(), nullable=True),
    sa.Column('accepted_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.Uuid(), nullable=True),
    sa.Column('revoked_side', sa.String(length=16), nullable=True),
    sa.Column('revoke_reason', sa.Text(), nullable=True),
    sa.Column('kid', sa.String(length=32), nullable=False),
    sa.Column('signed', sa.JSON(), nullable=False),
    sa.Column('owner_org_id', sa.Uuid(), nullable=False),
    sa.Column('tlp', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['accepted_by'], ['users.id'], name=op.f('fk_partner_grants_accepted_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_partner_grants_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['nomination_id'], ['partner_nominations.id'], name=op.f('fk_partner_grants_nomination_id_partner_nominations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_org_id'], ['organizations.id'], name=op.f('fk_partner_grants_owner_org_id_organizations')),
    sa.ForeignKeyConstraint(['partner_org_id'], ['organizations.id'], name=op.f('fk_partner_grants_partner_org_id_organizations')),
    sa.ForeignKeyConstraint(['revoked_by'], ['users.id'], name=op.f('fk_partner_grants_revoked_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['waived_by'], ['users.id'], name=op.f('fk_partner_grants_waived_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_grants'))
    )
    with op.batch_alter_table('partner_grants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_grants_ends_at'), ['ends_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_partner_grants_nomination_id'), ['nomination_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_partner_grants_owner_org_id'), ['owner_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_partner_grants_partner_org_id'), ['partner_org_id'], unique=False)

    op.create_table('partner_usage',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('grant_id', sa.Uuid(), nullable=False),
    sa.Column('units', sa.BigInteger(), nullable=False),
    sa.Column('period_start', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('period_end', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('reported_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['grant_id'], ['partner_grants.id'], name=op.f('fk_partner_usage_grant_id_partner_grants'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reported_by'], ['users.id'], name=op.f('fk_partner_usage_reported_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_usage'))
    )
    with op.batch_alter_table('partner_usage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_partner_usage_grant_id'), ['grant_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('partner_usage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_usage_grant_id'))

    op.drop_table('partner_usage')
    with op.batch_alter_table('partner_grants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_grants_partner_org_id'))
        batch_op.drop_index(batch_op.f('ix_partner_grants_owner_org_id'))
        batch_op.drop_index(batch_op.f('ix_partner_grants_nomination_id'))
        batch_op.drop_index(batch_op.f('ix_partner_grants_ends_at'))

    op.drop_table('partner_grants')
    with op.batch_alter_table('partner_checklist_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_checklist_items_nomination_id'))

    op.drop_table('partner_checklist_items')
    with op.batch_alter_table('partner_approvals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_approvals_nomination_id'))

    op.drop_table('partner_approvals')
    with op.batch_alter_table('partner_nominations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_partner_nominations_status'))
        batch_op.drop_index(batch_op.f('ix_partner_nominations_partner_org_id'))
        batch_op.drop_index(batch_op.f('ix_partner_nominations_owner_org_id'))
        batch_op.drop_index(batch_op.f('ix_partner_nominations_model_name'))
        batch_op.drop_index(batch_op.f('ix_partner_nominations_agency_org_id'))

    op.drop_table('partner_nominations')

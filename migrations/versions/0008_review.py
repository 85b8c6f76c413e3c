"""pre-release review submissions

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import frontiersec.platform.db

import sqlalchemy as sa
from alembic import op

import frontiersec.platform.db

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('review_submissions',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('model_name', sa.String(length=200), nullable=False),
    sa.Column('model_version', sa.String(length=100), nullable=False),
    sa.Column('access_level', sa.String(length=20), nullable=False),
    sa.Column('release_date', sa.Date(), nullable=False),
    sa.Column('window_opened_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('window_closes_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('endpoint_url', sa.String(length=2000), nullable=True),
    sa.Column('eval_model', sa.String(length=300), nullable=True),
    sa.Column('training_compute_flop', sa.Float(), nullable=True),
    sa.Column('parameter_count', sa.BigInteger(), nullable=True),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=32), nullable=False),
    sa.Column('closed_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('owner_org_id', sa.Uuid(), nullable=False),
    sa.Column('tlp', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_review_submissions_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_org_id'], ['organizations.id'], name=op.f('fk_review_submissions_owner_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_submissions'))
    )
    with op.batch_alter_table('review_submissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_submissions_model_name'), ['model_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_submissions_owner_org_id'), ['owner_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_submissions_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_submissions_window_closes_at'), ['window_closes_at'], unique=False)
    op.create_table('review_credentials',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('submission_id', sa.Uuid(), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['submission_id'], ['review_submissions.id'], name=op.f('fk_review_credentials_submission_id_review_submissions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_credentials')),
    sa.UniqueConstraint('submission_id', name=op.f('uq_review_credentials_submission_id'))
    )
    op.create_table('review_documents',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('submission_id', sa.Uuid(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=120), nullable=False),
    sa.Column('size_bytes', sa.Integer(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('ciphertext', sa.LargeBinary(), nullable=True),
    sa.Column('uploaded_by', sa.Uuid(), nullable=True),
    sa.Column('uploaded_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('purged_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['submission_id'], ['review_submissions.id'], name=op.f('fk_review_documents_submission_id_review_submissions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['uploaded_by'], ['users.id'], name=op.f('fk_review_documents_uploaded_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_documents'))
    )
    with op.batch_alter_table('review_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_documents_submission_id'), ['submission_id'], unique=False)
    op.create_table('review_eval_runs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('submission_id', sa.Uuid(), nullable=False),
    sa.Column('run_id', sa.Uuid(), nullable=False),
    sa.Column('created_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['submission_id'], ['review_submissions.id'], name=op.f('fk_review_eval_runs_submission_id_review_submissions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_eval_runs')),
    sa.UniqueConstraint('submission_id', 'run_id', name=op.f('uq_review_eval_runs_submission_id'))
    )
    with op.batch_alter_table('review_eval_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_eval_runs_submission_id'), ['submission_id'], unique=False)
    op.create_table('review_exports',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('submission_id', sa.Uuid(), nullable=False),
    sa.Column('material', sa.String(length=80), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by', sa.Uuid(), nullable=True),
    sa.Column('requested_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('recipient_id', sa.Uuid(), nullable=True),
    sa.Column('approved_by', sa.Uuid(), nullable=True),
    sa.Column('approved_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('downloaded_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('content_sha256', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['approved_by'], ['users.id'], name=op.f('fk_review_exports_approved_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['recipient_id'], ['users.id'], name=op.f('fk_review_exports_recipient_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'], name=op.f('fk_review_exports_requested_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['submission_id'], ['review_submissions.id'], name=op.f('fk_review_exports_submission_id_review_submissions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_exports'))
    )
    with op.batch_alter_table('review_exports', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_exports_submission_id'), ['submission_id'], unique=False)
    op.create_table('review_purge_receipts',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('submission_id', sa.Uuid(), nullable=False),
    sa.Column('kid', sa.String(length=32), nullable=False),
    sa.Column('document', sa.JSON(), nullable=False),
    sa.Column('issued_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['submission_id'], ['review_submissions.id'], name=op.f('fk_review_purge_receipts_submission_id_review_submissions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_purge_receipts')),
    sa.UniqueConstraint('submission_id', name=op.f('uq_review_purge_receipts_submission_id'))
    )
    op.create_table('review_reports',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('submission_id', sa.Uuid(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('issued_by', sa.Uuid(), nullable=True),
    sa.Column('issued_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['issued_by'], ['users.id'], name=op.f('fk_review_reports_issued_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['submission_id'], ['review_submissions.id'], name=op.f('fk_review_reports_submission_id_review_submissions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_reports')),
    sa.UniqueConstraint('submission_id', name=op.f('uq_review_reports_submission_id'))
    )
    op.create_table('review_team_members',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('submission_id', sa.Uuid(), nullable=False),
    sa.Column('user_id', sa.Uuid(), nullable=False),
    sa.Column('added_by', sa.Uuid(), nullable=True),
    sa.Column('added_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['added_by'], ['users.id'], name=op.f('fk_review_team_members_added_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['submission_id'], ['review_submissions.id'], name=op.f('fk_review_team_members_submission_id_review_submissions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_review_team_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_team_members')),
    sa.UniqueConstraint('submission_id', 'user_id', name=op.f('uq_review_team_members_submission_id'))
    )
    with op.batch_alter_table('review_team_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_team_members_submission_id'), ['submission_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_review_team_members_user_id'), ['user_id'], unique=False)
    op.create_table('review_findings',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('report_id', sa.Uuid(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('response', sa.String(length=16), nullable=True),
    sa.Column('response_comment', sa.Text(), nullable=True),
    sa.Column('responded_by', sa.Uuid(), nullable=True),
    sa.Column('responded_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['report_id'], ['review_reports.id'], name=op.f('fk_review_findings_report_id_review_reports'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['responded_by'], ['users.id'], name=op.f('fk_review_findings_responded_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_findings'))
    )
    with op.batch_alter_table('review_findings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_review_findings_report_id'), ['report_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('review_findings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_findings_report_id'))
    op.drop_table('review_findings')
    with op.batch_alter_table('review_team_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_team_members_user_id'))
        batch_op.drop_index(batch_op.f('ix_review_team_members_submission_id'))
    op.drop_table('review_team_members')
    op.drop_table('review_reports')
    op.drop_table('review_purge_receipts')
    with op.batch_alter_table('review_exports', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_exports_submission_id'))
    op.drop_table('review_exports')
    with op.batch_alter_table('review_eval_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_eval_runs_submission_id'))
    op.drop_table('review_eval_runs')
    with op.batch_alter_table('review_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_documents_submission_id'))
    op.drop_table('review_documents')
    op.drop_table('review_credentials')
    with op.batch_alter_table('review_submissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_review_submissions_window_closes_at'))
        batch_op.drop_index(batch_op.f('ix_review_submissions_status'))
        batch_op.drop_index(batch_op.f('ix_review_submissions_owner_org_id'))
        batch_op.drop_index(batch_op.f('ix_review_submissions_model_name'))
    op.drop_table('review_submissions')

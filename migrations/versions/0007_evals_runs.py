"""evaluation runs, samples, model credentials

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import frontiersec.platform.db

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('eval_model_credentials',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('label', sa.String(length=200), nullable=False),
    sa.Column('base_url', sa.String(length=2000), nullable=True),
    sa.Column('secret_encrypted', sa.Text(), nullable=True),
    sa.Column('purged_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('purged_by', sa.Uuid(), nullable=True),
    sa.Column('owner_org_id', sa.Uuid(), nullable=False),
    sa.Column('tlp', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_eval_model_credentials_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_org_id'], ['organizations.id'], name=op.f('fk_eval_model_credentials_owner_org_id_organizations')),
    sa.ForeignKeyConstraint(['purged_by'], ['users.id'], name=op.f('fk_eval_model_credentials_purged_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eval_model_credentials'))
    )
    with op.batch_alter_table('eval_model_credentials', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_eval_model_credentials_owner_org_id'), ['owner_org_id'], unique=False)

    op.create_table('eval_runs',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('suite', sa.String(length=60), nullable=False),
    sa.Column('model', sa.String(length=300), nullable=False),
    sa.Column('base_url', sa.String(length=2000), nullable=True),
    sa.Column('model_name', sa.String(length=200), nullable=False),
    sa.Column('model_version', sa.String(length=100), nullable=False),
    sa.Column('epochs', sa.Integer(), nullable=False),
    sa.Column('sample_limit', sa.Integer(), nullable=True),
    sa.Column('task_ids', sa.JSON(), nullable=True),
    sa.Column('max_connections', sa.Integer(), nullable=True),
    sa.Column('max_samples', sa.Integer(), nullable=True),
    sa.Column('max_retries', sa.Integer(), nullable=True),
    sa.Column('timeout_s', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('samples_total', sa.Integer(), nullable=False),
    sa.Column('samples_done', sa.Integer(), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('log_path', sa.String(length=1000), nullable=True),
    sa.Column('log_sha256', sa.String(length=64), nullable=True),
    sa.Column('logs', sa.JSON(), nullable=False),
    sa.Column('job_id', sa.Uuid(), nullable=True),
    sa.Column('credential_id', sa.Uuid(), nullable=True),
    sa.Column('review_submission_id', sa.Uuid(), nullable=True),
    sa.Column('started_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('finished_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('owner_org_id', sa.Uuid(), nullable=False),
    sa.Column('tlp', sa.String(length=16), nullable=False),
    sa.Column('created_by', sa.Uuid(), nullable=True),
    sa.Column('created_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_eval_runs_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['credential_id'], ['eval_model_credentials.id'], name=op.f('fk_eval_runs_credential_id_eval_model_credentials'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['job_id'], ['jobs.id'], name=op.f('fk_eval_runs_job_id_jobs'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['owner_org_id'], ['organizations.id'], name=op.f('fk_eval_runs_owner_org_id_organizations')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eval_runs'))
    )
    with op.batch_alter_table('eval_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_eval_runs_model_name'), ['model_name'], unique=False)
        batch_op.create_index(batch_op.f('ix_eval_runs_model_version'), ['model_version'], unique=False)
        batch_op.create_index(batch_op.f('ix_eval_runs_owner_org_id'), ['owner_org_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_eval_runs_review_submission_id'), ['review_submission_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_eval_runs_status'), ['status'], unique=False)

    op.create_table('eval_samples',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('run_id', sa.Uuid(), nullable=False),
    sa.Column('task_id', sa.String(length=200), nullable=False),
    sa.Column('sample_id', sa.String(length=200), nullable=False),
    sa.Column('family', sa.String(length=120), nullable=False),
    sa.Column('epoch', sa.Integer(), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('explanation', sa.Text(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('started_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', frontiersec.platform.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['eval_runs.id'], name=op.f('fk_eval_samples_run_id_eval_runs'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_eval_samples')),
    sa.UniqueConstraint('run_id', 'sample_id', 'epoch', name=op.f('uq_eval_samples_run_id'))
    )
    with op.batch_alter_table('eval_samples', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_eval_samples_family'), ['family'], unique=False)
        batch_op.create_index(batch_op.f('ix_eval_samples_run_id'), ['run_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_eval_samples_task_id'), ['task_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('eval_samples', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_eval_samples_task_id'))
        batch_op.drop_index(batch_op.f('ix_eval_samples_run_id'))
        batch_op.drop_index(batch_op.f('ix_eval_samples_family'))

    op.drop_table('eval_samples')
    with op.batch_alter_table('eval_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_eval_runs_status'))
        batch_op.drop_index(batch_op.f('ix_eval_runs_review_submission_id'))
        batch_op.drop_index(batch_op.f('ix_eval_runs_owner_org_id'))
        batch_op.drop_index(batch_op.f('ix_eval_runs_model_version'))
        batch_op.drop_index(batch_op.f('ix_eval_runs_model_name'))

    op.drop_table('eval_runs')
    with op.batch_alter_table('eval_model_credentials', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_eval_model_credentials_owner_org_id'))

    op.drop_table('eval_model_credentials')

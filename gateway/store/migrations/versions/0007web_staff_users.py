"""staff users (web sign-in) and caseload requests awaiting a supervisor

Revision ID: 0007web
Revises: 0003jobs
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0007web'
down_revision = '0003jobs'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table('staff_user',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('password_hash', sa.String(length=300), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('cws_person_id', sa.String(length=64), nullable=True),
    sa.Column('failed_attempts', sa.Integer(), nullable=False),
    sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('sessions_valid_after', sa.DateTime(timezone=True), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_user')),
    sa.UniqueConstraint('tenant_id', 'username', name=op.f('uq_staff_user_tenant_id_username'))
    )
    op.create_table('caseload_request',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('youth_id', sa.String(length=36), nullable=False),
    sa.Column('requested_by', sa.String(length=80), nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.String(length=80), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('assignment_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['youth_id'], ['youth.id'], name=op.f('fk_caseload_request_youth_id_youth')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_caseload_request'))
    )
    with op.batch_alter_table('caseload_request', schema=None) as batch_op:
        batch_op.create_index('ix_caseload_request_status', ['tenant_id', 'status'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('caseload_request', schema=None) as batch_op:
        batch_op.drop_index('ix_caseload_request_status')
    op.drop_table('caseload_request')
    op.drop_table('staff_user')

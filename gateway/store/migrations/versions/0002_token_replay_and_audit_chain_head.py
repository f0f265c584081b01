"""token replay and audit chain head

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_head',
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', name=op.f('pk_audit_head'))
    )
    op.create_table('token_jti',
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('jti', sa.String(length=200), nullable=False),
    sa.Column('client_id', sa.String(length=80), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'jti', name=op.f('pk_token_jti'))
    )
    with op.batch_alter_table('token_jti', schema=None) as batch_op:
        batch_op.create_index('ix_token_jti_expires', ['expires_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('token_jti', schema=None) as batch_op:
        batch_op.drop_index('ix_token_jti_expires')

    op.drop_table('token_jti')
    op.drop_table('audit_head')

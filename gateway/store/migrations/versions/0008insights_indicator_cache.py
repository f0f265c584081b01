"""insight_cache: the county indicators as published (after small-cell suppression), one row per day

Revision ID: 0008insights
Revises: 0003jobs
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0008insights'
down_revision = '0003jobs'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('insight_cache',
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seconds', sa.Float(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'kind', 'as_of', name=op.f('pk_insight_cache'))
    )


def downgrade() -> None:
    op.drop_table('insight_cache')

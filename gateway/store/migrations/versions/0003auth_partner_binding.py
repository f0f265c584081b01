"""partner binding: fixed purpose of use and mTLS certificate thumbprint of a client

Revision ID: 0003auth
Revises: 0002
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0003auth'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('partner_binding',
    sa.Column('client_id', sa.String(length=80), nullable=False),
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('purpose_of_use', sa.String(length=40), nullable=True),
    sa.Column('cert_x5t_s256', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['client_id'], ['partner.client_id'], name=op.f('fk_partner_binding_client_id_partner')),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_partner_binding'))
    )


def downgrade() -> None:
    op.drop_table('partner_binding')

"""change notifications (subscription, notification_delivery) and Ed-Fi pull state

Revision ID: 0006notify
Revises: 0003jobs
Create Date: 2026-11-24
"""
from alembic import op
import sqlalchemy as sa


revision = '0006notify'
down_revision = '0003jobs'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table('subscription',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('client_id', sa.String(length=80), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('criteria', sa.String(length=500), nullable=False),
    sa.Column('categories', sa.JSON(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('end_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('endpoint', sa.String(length=500), nullable=False),
    sa.Column('payload', sa.String(length=40), nullable=False),
    sa.Column('secrets', sa.LargeBinary(), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=True),
    sa.Column('requester', sa.JSON(), nullable=False),
    sa.Column('since_outbox_id', sa.BigInteger(), nullable=False),
    sa.Column('events_since_start', sa.BigInteger(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('lease_owner', sa.String(length=80), nullable=True),
    sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['client_id'], ['partner.client_id'], name=op.f('fk_subscription_client_id_partner')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_subscription'))
    )
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.create_index('ix_subscription_client', ['tenant_id', 'client_id'], unique=False)
        batch_op.create_index('ix_subscription_status', ['tenant_id', 'status'], unique=False)

    op.create_table('notification_delivery',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('outbox_id', BigId, nullable=False),
    sa.Column('subscription_id', sa.String(length=36), nullable=False),
    sa.Column('youth_id', sa.String(length=36), nullable=True),
    sa.Column('categories', sa.JSON(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('event_number', sa.BigInteger(), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('blocking', sa.Boolean(), nullable=False),
    sa.Column('last_status', sa.Integer(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['outbox_id'], ['outbox.id'], name=op.f('fk_notification_delivery_outbox_id_outbox')),
    sa.ForeignKeyConstraint(['subscription_id'], ['subscription.id'],
                            name=op.f('fk_notification_delivery_subscription_id_subscription')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_delivery')),
    sa.UniqueConstraint('tenant_id', 'idempotency_key', name=op.f('uq_notification_delivery_tenant_id_idempotency_key'))
    )
    with op.batch_alter_table('notification_delivery', schema=None) as batch_op:
        batch_op.create_index('ix_notification_delivery_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_notification_delivery_subscription', ['subscription_id', 'status', 'outbox_id'],
                              unique=False)

    op.create_table('edfi_pull_state',
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('lea_id', sa.String(length=7), nullable=False),
    sa.Column('base_url', sa.String(length=500), nullable=False),
    sa.Column('last_change_version', sa.BigInteger(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('last_batch_id', sa.String(length=36), nullable=True),
    sa.Column('records', sa.Integer(), nullable=False),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('tenant_id', 'lea_id', name=op.f('pk_edfi_pull_state'))
    )


def downgrade() -> None:
    op.drop_table('edfi_pull_state')
    with op.batch_alter_table('notification_delivery', schema=None) as batch_op:
        batch_op.drop_index('ix_notification_delivery_subscription')
        batch_op.drop_index('ix_notification_delivery_due')
    op.drop_table('notification_delivery')
    with op.batch_alter_table('subscription', schema=None) as batch_op:
        batch_op.drop_index('ix_subscription_status')
        batch_op.drop_index('ix_subscription_client')
    op.drop_table('subscription')

"""resource_version holds superseded versions only; the current version lives in resource alone

Every body used to be written twice (current row + an identical history row), which was half of
ingest's write cost and of the store's size. History rows that duplicate the current version are
dropped; gateway.store.history.versions() reads current + history as one list. Also merges the
parallel heads.

Revision ID: 0009
Revises: 0003auth, 0006notify, 0007web, 0008insights
Create Date: 2026-11-23
"""
from alembic import op


revision = '0009'
down_revision = ('0003auth', '0006notify', '0007web', '0008insights')
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute("DELETE FROM resource_version WHERE EXISTS (SELECT 1 FROM resource r "
               "WHERE r.tenant_id = resource_version.tenant_id AND r.id = resource_version.resource_id "
               "AND r.version = resource_version.version)")


def downgrade() -> None:
    op.execute("INSERT INTO resource_version (tenant_id, resource_id, version, content_hash, body, key_id, category, "
               "security, deleted, batch_id, recorded_at) SELECT tenant_id, id, version, content_hash, body, key_id, "
               "category, security, deleted, batch_id, updated_at FROM resource")

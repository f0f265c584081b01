"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('audit_checkpoint',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.Column('signature', sa.Text(), nullable=False),
    sa.Column('key_id', sa.String(length=64), nullable=False),
    sa.Column('signed_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_checkpoint'))
    )
    op.create_table('audit_event',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.String(length=120), nullable=False),
    sa.Column('actor_role', sa.String(length=40), nullable=False),
    sa.Column('client_id', sa.String(length=80), nullable=True),
    sa.Column('youth_id', sa.String(length=36), nullable=True),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('purpose', sa.String(length=40), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('entry', sa.JSON(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq', name=op.f('pk_audit_event'))
    )
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.create_index('ix_audit_event_youth', ['tenant_id', 'youth_id', 'seq'], unique=False)

    op.create_table('ingest_batch',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('format', sa.String(length=32), nullable=False),
    sa.Column('source_name', sa.String(length=500), nullable=False),
    sa.Column('source_system', sa.String(length=120), nullable=True),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('submitted_by', sa.String(length=120), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('records_read', sa.Integer(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('updated', sa.Integer(), nullable=False),
    sa.Column('unchanged', sa.Integer(), nullable=False),
    sa.Column('deleted', sa.Integer(), nullable=False),
    sa.Column('rejected', sa.Integer(), nullable=False),
    sa.Column('out_of_scope', sa.Integer(), nullable=False),
    sa.Column('pending_review', sa.Integer(), nullable=False),
    sa.Column('warnings', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ingest_batch'))
    )
    with op.batch_alter_table('ingest_batch', schema=None) as batch_op:
        batch_op.create_index('ix_ingest_batch_sha', ['tenant_id', 'format', 'content_sha256'], unique=False)
        batch_op.create_index('ix_ingest_batch_started', ['tenant_id', 'started_at'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('topic', sa.String(length=80), nullable=False),
    sa.Column('youth_id', sa.String(length=36), nullable=True),
    sa.Column('idempotency_key', sa.String(length=120), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('tenant_id', 'idempotency_key', name=op.f('uq_outbox_tenant_id_idempotency_key'))
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_status', ['status', 'id'], unique=False)

    op.create_table('partner',
    sa.Column('client_id', sa.String(length=80), nullable=False),
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('organization', sa.String(length=200), nullable=True),
    sa.Column('secret_hash', sa.String(length=200), nullable=True),
    sa.Column('jwks', sa.JSON(), nullable=True),
    sa.Column('jwks_url', sa.String(length=500), nullable=True),
    sa.Column('scopes', sa.JSON(), nullable=False),
    sa.Column('lea_ids', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('client_id', name=op.f('pk_partner'))
    )
    op.create_table('resource_version',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('resource_id', sa.String(length=36), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=True),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('security', sa.JSON(), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_resource_version')),
    sa.UniqueConstraint('resource_id', 'version', name=op.f('uq_resource_version_resource_id_version'))
    )
    op.create_table('tenant',
    sa.Column('id', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tenant'))
    )
    op.create_table('youth',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('client_id', sa.String(length=10), nullable=False),
    sa.Column('case_id', sa.String(length=19), nullable=True),
    sa.Column('given', sa.String(length=100), nullable=True),
    sa.Column('middle', sa.String(length=100), nullable=True),
    sa.Column('family', sa.String(length=100), nullable=True),
    sa.Column('birth_date', sa.Date(), nullable=True),
    sa.Column('sex', sa.String(length=1), nullable=True),
    sa.Column('ssid', sa.String(length=10), nullable=True),
    sa.Column('aliases', sa.JSON(), nullable=False),
    sa.Column('jurisdiction', sa.String(length=40), nullable=True),
    sa.Column('office', sa.String(length=80), nullable=True),
    sa.Column('in_foster_care', sa.Boolean(), nullable=False),
    sa.Column('episode_status', sa.String(length=16), nullable=True),
    sa.Column('removal_date', sa.Date(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_youth')),
    sa.UniqueConstraint('tenant_id', 'client_id', name=op.f('uq_youth_tenant_id_client_id'))
    )
    op.create_table('care_assignment',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('youth_id', sa.String(length=36), nullable=False),
    sa.Column('role', sa.String(length=40), nullable=False),
    sa.Column('person_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=True),
    sa.Column('organization', sa.String(length=200), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('email', sa.String(length=200), nullable=True),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('jv535_signed', sa.Date(), nullable=True),
    sa.Column('erh_relationship', sa.String(length=40), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('approved_by', sa.String(length=120), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['youth_id'], ['youth.id'], name=op.f('fk_care_assignment_youth_id_youth')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_care_assignment'))
    )
    with op.batch_alter_table('care_assignment', schema=None) as batch_op:
        batch_op.create_index('ix_care_assignment_person', ['tenant_id', 'person_id', 'role'], unique=False)
        batch_op.create_index('ix_care_assignment_youth', ['tenant_id', 'youth_id'], unique=False)

    op.create_table('consent',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('youth_id', sa.String(length=36), nullable=False),
    sa.Column('grantor', sa.String(length=16), nullable=False),
    sa.Column('scope', sa.JSON(), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('recipient_person_id', sa.String(length=64), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('form', sa.String(length=32), nullable=False),
    sa.Column('signed', sa.Date(), nullable=False),
    sa.Column('expires', sa.Date(), nullable=True),
    sa.Column('expiration_event', sa.String(length=200), nullable=True),
    sa.Column('revoked_on', sa.Date(), nullable=True),
    sa.Column('part2_compliant', sa.Boolean(), nullable=True),
    sa.Column('single_disclosure', sa.Boolean(), nullable=False),
    sa.Column('purpose', sa.String(length=200), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['youth_id'], ['youth.id'], name=op.f('fk_consent_youth_id_youth')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_consent'))
    )
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.create_index('ix_consent_youth', ['tenant_id', 'youth_id'], unique=False)

    op.create_table('court_order',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('youth_id', sa.String(length=36), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('issued', sa.Date(), nullable=False),
    sa.Column('expires', sa.Date(), nullable=True),
    sa.Column('scope', sa.JSON(), nullable=False),
    sa.Column('recipients', sa.JSON(), nullable=False),
    sa.Column('limits_parent_ed_rights', sa.Boolean(), nullable=False),
    sa.Column('vacates_order_id', sa.String(length=64), nullable=True),
    sa.Column('form', sa.String(length=32), nullable=True),
    sa.ForeignKeyConstraint(['youth_id'], ['youth.id'], name=op.f('fk_court_order_youth_id_youth')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_court_order'))
    )
    with op.batch_alter_table('court_order', schema=None) as batch_op:
        batch_op.create_index('ix_court_order_youth', ['tenant_id', 'youth_id'], unique=False)

    op.create_table('identity_review',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('source_system', sa.String(length=120), nullable=False),
    sa.Column('subject', sa.JSON(), nullable=False),
    sa.Column('candidate_youth_id', sa.String(length=36), nullable=False),
    sa.Column('score', sa.Float(), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('decided_by', sa.String(length=120), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['candidate_youth_id'], ['youth.id'], name=op.f('fk_identity_review_candidate_youth_id_youth')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_identity_review'))
    )
    with op.batch_alter_table('identity_review', schema=None) as batch_op:
        batch_op.create_index('ix_identity_review_status', ['tenant_id', 'status'], unique=False)

    op.create_table('placement',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('youth_id', sa.String(length=36), nullable=False),
    sa.Column('start_date', sa.Date(), nullable=False),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('placement_type', sa.String(length=16), nullable=False),
    sa.Column('caregiver_id', sa.String(length=64), nullable=True),
    sa.Column('caregiver_name', sa.String(length=200), nullable=True),
    sa.Column('address', sa.JSON(), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['youth_id'], ['youth.id'], name=op.f('fk_placement_youth_id_youth')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_placement'))
    )
    with op.batch_alter_table('placement', schema=None) as batch_op:
        batch_op.create_index('ix_placement_youth', ['tenant_id', 'youth_id'], unique=False)

    op.create_table('rejected_record',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('batch_id', sa.String(length=36), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('file', sa.String(length=500), nullable=True),
    sa.Column('line', sa.Integer(), nullable=True),
    sa.Column('path', sa.String(length=500), nullable=True),
    sa.Column('field', sa.String(length=200), nullable=True),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('raw', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['ingest_batch.id'], name=op.f('fk_rejected_record_batch_id_ingest_batch')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_rejected_record'))
    )
    with op.batch_alter_table('rejected_record', schema=None) as batch_op:
        batch_op.create_index('ix_rejected_record_batch', ['batch_id'], unique=False)

    op.create_table('resource',
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('youth_id', sa.String(length=36), nullable=True),
    sa.Column('standard', sa.String(length=8), nullable=False),
    sa.Column('rtype', sa.String(length=80), nullable=False),
    sa.Column('natural_key', sa.String(length=200), nullable=False),
    sa.Column('category', sa.String(length=64), nullable=False),
    sa.Column('security', sa.JSON(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('content_hash', sa.String(length=64), nullable=False),
    sa.Column('body', sa.LargeBinary(), nullable=False),
    sa.Column('key_id', sa.String(length=32), nullable=True),
    sa.Column('source_system', sa.String(length=120), nullable=False),
    sa.Column('source_file', sa.String(length=500), nullable=True),
    sa.Column('source_locator', sa.String(length=500), nullable=True),
    sa.Column('batch_id', sa.String(length=36), nullable=True),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('deleted', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['youth_id'], ['youth.id'], name=op.f('fk_resource_youth_id_youth')),
    sa.PrimaryKeyConstraint('tenant_id', 'id', name=op.f('pk_resource')),
    sa.UniqueConstraint('tenant_id', 'standard', 'rtype', 'natural_key', name=op.f('uq_resource_tenant_id_standard_rtype_natural_key'))
    )
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.create_index('ix_resource_updated', ['tenant_id', 'updated_at'], unique=False)
        batch_op.create_index('ix_resource_youth_category', ['tenant_id', 'youth_id', 'category'], unique=False)

    op.create_table('youth_identifier',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('system', sa.String(length=80), nullable=False),
    sa.Column('value', sa.String(length=64), nullable=False),
    sa.Column('youth_id', sa.String(length=36), nullable=False),
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('score', sa.Float(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['youth_id'], ['youth.id'], name=op.f('fk_youth_identifier_youth_id_youth')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_youth_identifier')),
    sa.UniqueConstraint('tenant_id', 'system', 'value', name=op.f('uq_youth_identifier_tenant_id_system_value'))
    )
    with op.batch_alter_table('youth_identifier', schema=None) as batch_op:
        batch_op.create_index('ix_youth_identifier_youth', ['tenant_id', 'youth_id'], unique=False)

    op.create_table('pending_record',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('tenant_id', sa.String(length=16), nullable=False),
    sa.Column('review_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('record', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['review_id'], ['identity_review.id'], name=op.f('fk_pending_record_review_id_identity_review')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pending_record'))
    )
    with op.batch_alter_table('pending_record', schema=None) as batch_op:
        batch_op.create_index('ix_pending_record_review', ['review_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('pending_record', schema=None) as batch_op:
        batch_op.drop_index('ix_pending_record_review')

    op.drop_table('pending_record')
    with op.batch_alter_table('youth_identifier', schema=None) as batch_op:
        batch_op.drop_index('ix_youth_identifier_youth')

    op.drop_table('youth_identifier')
    with op.batch_alter_table('resource', schema=None) as batch_op:
        batch_op.drop_index('ix_resource_youth_category')
        batch_op.drop_index('ix_resource_updated')

    op.drop_table('resource')
    with op.batch_alter_table('rejected_record', schema=None) as batch_op:
        batch_op.drop_index('ix_rejected_record_batch')

    op.drop_table('rejected_record')
    with op.batch_alter_table('placement', schema=None) as batch_op:
        batch_op.drop_index('ix_placement_youth')

    op.drop_table('placement')
    with op.batch_alter_table('identity_review', schema=None) as batch_op:
        batch_op.drop_index('ix_identity_review_status')

    op.drop_table('identity_review')
    with op.batch_alter_table('court_order', schema=None) as batch_op:
        batch_op.drop_index('ix_court_order_youth')

    op.drop_table('court_order')
    with op.batch_alter_table('consent', schema=None) as batch_op:
        batch_op.drop_index('ix_consent_youth')

    op.drop_table('consent')
    with op.batch_alter_table('care_assignment', schema=None) as batch_op:
        batch_op.drop_index('ix_care_assignment_youth')
        batch_op.drop_index('ix_care_assignment_person')

    op.drop_table('care_assignment')
    op.drop_table('youth')
    op.drop_table('tenant')
    op.drop_table('resource_version')
    op.drop_table('partner')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status')

    op.drop_table('outbox')
    with op.batch_alter_table('ingest_batch', schema=None) as batch_op:
        batch_op.drop_index('ix_ingest_batch_started')
        batch_op.drop_index('ix_ingest_batch_sha')

    op.drop_table('ingest_batch')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_event_youth')

    op.drop_table('audit_event')
    op.drop_table('audit_checkpoint')

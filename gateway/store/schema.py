"""The store's tables (SQLAlchemy Core). One schema for SQLite (embedded default) and PostgreSQL.

Every table carries `tenant_id` (the county) so a statewide deployment can shard by tenant.
Resource bodies are stored as JSON bytes (orjson), encrypted with AES-GCM for sensitive
categories (`key_id` names the key); reads serve the stored bytes without rebuilding models.
"""
from __future__ import annotations

from sqlalchemy import (JSON, BigInteger, Boolean, Column, Date, DateTime, Float, ForeignKey, Index,
                        Integer, LargeBinary, MetaData, String, Table, Text, UniqueConstraint)

metadata = MetaData(naming_convention={
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})
# SQLite only autoincrements INTEGER PRIMARY KEY; BigInteger elsewhere.
BigId = BigInteger().with_variant(Integer, "sqlite")


def tenant() -> Column:
    return Column("tenant_id", String(16), nullable=False)


tenant_table = Table(
    "tenant", metadata,
    Column("id", String(16), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

youth = Table(
    "youth", metadata,
    Column("id", String(36), primary_key=True),
    tenant(),
    Column("client_id", String(10), nullable=False),
    Column("case_id", String(19)),
    Column("given", String(100)),
    Column("middle", String(100)),
    Column("family", String(100)),
    Column("birth_date", Date),
    Column("sex", String(1)),
    Column("ssid", String(10)),
    Column("aliases", JSON, nullable=False, default=list),
    Column("jurisdiction", String(40)),
    Column("office", String(80)),
    Column("in_foster_care", Boolean, nullable=False, default=True),
    Column("episode_status", String(16)),
    Column("removal_date", Date),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant_id", "client_id"),
)

youth_identifier = Table(
    "youth_identifier", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant(),
    Column("system", String(80), nullable=False),
    Column("value", String(64), nullable=False),
    Column("youth_id", String(36), ForeignKey("youth.id"), nullable=False),
    Column("source", String(120), nullable=False),
    Column("method", String(16), nullable=False),  # cws | deterministic | probabilistic | reviewed
    Column("score", Float),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant_id", "system", "value"),
    Index("ix_youth_identifier_youth", "tenant_id", "youth_id"),
)

ingest_batch = Table(
    "ingest_batch", metadata,
    Column("id", String(36), primary_key=True),
    tenant(),
    Column("format", String(32), nullable=False),
    Column("source_name", String(500), nullable=False),
    Column("source_system", String(120)),
    Column("content_sha256", String(64), nullable=False),
    Column("submitted_by", String(120), nullable=False),
    Column("status", String(16), nullable=False),  # committed | failed | refused
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True)),
    Column("records_read", Integer, nullable=False, default=0),
    Column("created", Integer, nullable=False, default=0),
    Column("updated", Integer, nullable=False, default=0),
    Column("unchanged", Integer, nullable=False, default=0),
    Column("deleted", Integer, nullable=False, default=0),
    Column("rejected", Integer, nullable=False, default=0),
    Column("out_of_scope", Integer, nullable=False, default=0),
    Column("pending_review", Integer, nullable=False, default=0),
    Column("warnings", Integer, nullable=False, default=0),
    Column("error", Text),
    Index("ix_ingest_batch_sha", "tenant_id", "format", "content_sha256"),
    Index("ix_ingest_batch_started", "tenant_id", "started_at"),
)

rejected_record = Table(
    "rejected_record", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant(),
    Column("batch_id", String(36), ForeignKey("ingest_batch.id"), nullable=False),
    Column("kind", String(16), nullable=False),  # problem | out_of_scope | warning
    Column("file", String(500)),
    Column("line", Integer),
    Column("path", String(500)),
    Column("field", String(200)),
    Column("severity", String(10), nullable=False),
    Column("message", Text, nullable=False),
    Column("raw", Text),  # the offending input, kept so nothing is lost (never for out-of-scope people)
    Index("ix_rejected_record_batch", "batch_id"),
)

resource = Table(
    "resource", metadata,
    Column("tenant_id", String(16), primary_key=True),
    Column("id", String(36), primary_key=True),  # FHIR/Ed-Fi resource id; unique within a tenant
    Column("youth_id", String(36), ForeignKey("youth.id")),  # null: reference data (schools, LEAs)
    Column("standard", String(8), nullable=False),           # edfi | fhir | case
    Column("rtype", String(80), nullable=False),
    Column("natural_key", String(200), nullable=False),
    Column("category", String(64), nullable=False),
    Column("security", JSON, nullable=False, default=list),
    Column("version", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("key_id", String(32)),                             # set when body is encrypted
    Column("source_system", String(120), nullable=False),
    Column("source_file", String(500)),
    Column("source_locator", String(500)),
    Column("batch_id", String(36)),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("deleted", Boolean, nullable=False, default=False),
    UniqueConstraint("tenant_id", "standard", "rtype", "natural_key"),
    Index("ix_resource_youth_category", "tenant_id", "youth_id", "category"),
    Index("ix_resource_updated", "tenant_id", "updated_at"),
)

resource_version = Table(
    "resource_version", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant(),
    Column("resource_id", String(36), nullable=False),
    Column("version", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("key_id", String(32)),
    Column("category", String(64), nullable=False),
    Column("security", JSON, nullable=False, default=list),
    Column("deleted", Boolean, nullable=False, default=False),
    Column("batch_id", String(36)),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("resource_id", "version"),
)

placement = Table(
    "placement", metadata,
    Column("id", String(64), primary_key=True),
    tenant(),
    Column("youth_id", String(36), ForeignKey("youth.id"), nullable=False),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),
    Column("placement_type", String(16), nullable=False),
    Column("caregiver_id", String(64)),
    Column("caregiver_name", String(200)),
    Column("address", JSON),
    Column("phone", String(40)),
    Index("ix_placement_youth", "tenant_id", "youth_id"),
)

care_assignment = Table(
    "care_assignment", metadata,
    Column("id", String(64), primary_key=True),
    tenant(),
    Column("youth_id", String(36), ForeignKey("youth.id"), nullable=False),
    Column("role", String(40), nullable=False),
    Column("person_id", String(64), nullable=False),
    Column("name", String(200)),
    Column("organization", String(200)),
    Column("phone", String(40)),
    Column("email", String(200)),
    Column("start_date", Date, nullable=False),
    Column("end_date", Date),
    Column("jv535_signed", Date),
    Column("erh_relationship", String(40)),
    Column("source", String(16), nullable=False),   # cws | gateway (added by a worker, with approval)
    Column("approved_by", String(120)),
    Column("note", Text),
    Index("ix_care_assignment_person", "tenant_id", "person_id", "role"),
    Index("ix_care_assignment_youth", "tenant_id", "youth_id"),
)

consent = Table(
    "consent", metadata,
    Column("id", String(64), primary_key=True),
    tenant(),
    Column("youth_id", String(36), ForeignKey("youth.id"), nullable=False),
    Column("grantor", String(16), nullable=False),
    Column("scope", JSON, nullable=False),
    Column("recipients", JSON, nullable=False),
    Column("recipient_person_id", String(64)),
    Column("status", String(16), nullable=False),
    Column("form", String(32), nullable=False),
    Column("signed", Date, nullable=False),
    Column("expires", Date),
    Column("expiration_event", String(200)),
    Column("revoked_on", Date),
    Column("part2_compliant", Boolean),
    Column("single_disclosure", Boolean, nullable=False, default=False),
    Column("purpose", String(200)),
    Column("source", String(16), nullable=False),   # cws | fhir
    Column("version", Integer, nullable=False, default=1),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_consent_youth", "tenant_id", "youth_id"),
)

court_order = Table(
    "court_order", metadata,
    Column("id", String(64), primary_key=True),
    tenant(),
    Column("youth_id", String(36), ForeignKey("youth.id"), nullable=False),
    Column("type", String(40), nullable=False),
    Column("status", String(16), nullable=False),
    Column("issued", Date, nullable=False),
    Column("expires", Date),
    Column("scope", JSON, nullable=False),
    Column("recipients", JSON, nullable=False),
    Column("limits_parent_ed_rights", Boolean, nullable=False, default=False),
    Column("vacates_order_id", String(64)),
    Column("form", String(32)),
    Index("ix_court_order_youth", "tenant_id", "youth_id"),
)

identity_review = Table(
    "identity_review", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant(),
    Column("batch_id", String(36), nullable=False),
    Column("source_system", String(120), nullable=False),
    Column("subject", JSON, nullable=False),          # the incoming person as the source presents them
    Column("candidate_youth_id", String(36), ForeignKey("youth.id"), nullable=False),
    Column("score", Float, nullable=False),
    Column("reasons", JSON, nullable=False),
    Column("status", String(16), nullable=False),     # open | linked | rejected
    Column("decided_by", String(120)),
    Column("decided_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_identity_review_status", "tenant_id", "status"),
)

pending_record = Table(
    "pending_record", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant(),
    Column("review_id", BigId, ForeignKey("identity_review.id"), nullable=False),
    Column("record", LargeBinary, nullable=False),    # the converted record, held until a person decides
    Index("ix_pending_record_review", "review_id"),
)

partner = Table(
    "partner", metadata,
    Column("client_id", String(80), primary_key=True),
    tenant(),
    Column("name", String(200), nullable=False),
    Column("kind", String(24), nullable=False),       # sis_vendor | smart_backend
    Column("role", String(40), nullable=False),       # the policy's requester role
    Column("organization", String(200)),
    Column("secret_hash", String(200)),
    Column("jwks", JSON),
    Column("jwks_url", String(500)),
    Column("scopes", JSON, nullable=False, default=list),
    Column("lea_ids", JSON, nullable=False, default=list),
    Column("status", String(16), nullable=False),     # active | revoked
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("revoked_at", DateTime(timezone=True)),
)

audit_event = Table(
    "audit_event", metadata,
    Column("seq", BigId, primary_key=True, autoincrement=True),
    tenant(),
    Column("recorded_at", DateTime(timezone=True), nullable=False),
    Column("actor_id", String(120), nullable=False),
    Column("actor_role", String(40), nullable=False),
    Column("client_id", String(80)),
    Column("youth_id", String(36)),
    Column("action", String(40), nullable=False),
    Column("purpose", String(40)),
    Column("outcome", String(16), nullable=False),
    Column("entry", JSON, nullable=False),            # request facts, rules, categories released
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_event_youth", "tenant_id", "youth_id", "seq"),
)

audit_checkpoint = Table(
    "audit_checkpoint", metadata,
    Column("seq", BigId, primary_key=True),
    tenant(),
    Column("hash", String(64), nullable=False),
    Column("signature", Text, nullable=False),
    Column("key_id", String(64), nullable=False),
    Column("signed_at", DateTime(timezone=True), nullable=False),
)

outbox = Table(
    "outbox", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant(),
    Column("topic", String(80), nullable=False),
    Column("youth_id", String(36)),
    Column("idempotency_key", String(120), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("status", String(16), nullable=False),      # pending | dispatched
    UniqueConstraint("tenant_id", "idempotency_key"),
    Index("ix_outbox_status", "status", "id"),
)

token_jti = Table(
    "token_jti", metadata,
    Column("tenant_id", String(16), primary_key=True),
    Column("jti", String(200), primary_key=True),       # client assertion ids seen: a replay is refused
    Column("client_id", String(80), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_token_jti_expires", "expires_at"),
)

audit_head = Table(
    "audit_head", metadata,
    Column("tenant_id", String(16), primary_key=True),  # one row per tenant: appends lock it, so the chain is linear
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

job = Table(
    "job", metadata,
    Column("id", String(36), primary_key=True),
    tenant(),
    Column("kind", String(24), nullable=False),        # ingest | export | …: the worker dispatches on it
    Column("status", String(16), nullable=False),      # queued | running | completed | failed | cancelled
    Column("owner", String(120), nullable=False),      # the client or user that asked (only they may see it)
    Column("params", JSON, nullable=False),
    Column("progress", JSON, nullable=False, default=dict),
    Column("result", JSON),
    Column("error", Text),
    Column("attempts", Integer, nullable=False, default=0),
    Column("worker", String(80)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
    Column("heartbeat_at", DateTime(timezone=True)),
    Column("finished_at", DateTime(timezone=True)),
    Index("ix_job_status", "status", "created_at"),
)

partner_binding = Table(
    "partner_binding", metadata,
    Column("client_id", String(80), ForeignKey("partner.client_id"), primary_key=True),
    tenant(),
    Column("purpose_of_use", String(40)),             # a client registered for one purpose (state system: x-CW-ADMIN)
    Column("cert_x5t_s256", String(64)),              # SHA-256 thumbprint (base64url) of its mTLS client certificate
)

staff_user = Table(
    "staff_user", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant(),
    Column("username", String(80), nullable=False),
    Column("display_name", String(200), nullable=False),
    Column("password_hash", String(300), nullable=False),  # scrypt$n$r$p$salt$hash (gateway/web/accounts.py)
    Column("role", String(16), nullable=False),            # social_worker | supervisor | analyst | operator
    Column("cws_person_id", String(64)),                   # links a worker to their CWS care_assignment rows
    Column("failed_attempts", Integer, nullable=False, default=0),
    Column("locked_until", DateTime(timezone=True)),
    Column("sessions_valid_after", DateTime(timezone=True)),  # sign-out ends every session issued before
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("tenant_id", "username"),
)

caseload_request = Table(
    "caseload_request", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant(),
    Column("youth_id", String(36), ForeignKey("youth.id"), nullable=False),
    Column("requested_by", String(80), nullable=False),    # staff_user.username
    Column("person_id", String(64), nullable=False),       # the requester's CWS person id
    Column("reason", Text),
    Column("status", String(16), nullable=False),          # pending | approved | declined | cancelled
    Column("decided_by", String(80)),
    Column("decided_at", DateTime(timezone=True)),
    Column("assignment_id", String(64)),                   # the care_assignment row an approval created
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_caseload_request_status", "tenant_id", "status"),
)

subscription = Table(
    "subscription", metadata,
    Column("id", String(36), primary_key=True),
    tenant(),
    Column("client_id", String(80), ForeignKey("partner.client_id"), nullable=False),  # the owner
    Column("status", String(16), nullable=False),      # requested | active | error | off | deleted
    Column("criteria", String(500), nullable=False),
    Column("categories", JSON),                        # categories the criteria names; null: every category
    Column("reason", String(500)),
    Column("end_at", DateTime(timezone=True)),
    Column("endpoint", String(500), nullable=False),
    Column("payload", String(40), nullable=False),     # "" (no body) | application/fhir+json | application/json
    Column("secrets", LargeBinary, nullable=False),    # sealed JSON: channel headers and the HMAC signing key
    Column("key_id", String(32)),                      # set when `secrets` is encrypted
    Column("requester", JSON, nullable=False),         # role, purpose of use, acting user when subscribed
    Column("since_outbox_id", BigInteger, nullable=False),  # events after this outbox row are notified
    Column("events_since_start", BigInteger, nullable=False, default=0),
    Column("error", Text),
    Column("lease_owner", String(80)),                 # the dispatcher delivering for it right now
    Column("lease_until", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_subscription_client", "tenant_id", "client_id"),
    Index("ix_subscription_status", "tenant_id", "status"),
)

notification_delivery = Table(
    "notification_delivery", metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    tenant(),
    Column("outbox_id", BigId, ForeignKey("outbox.id"), nullable=False),
    Column("subscription_id", String(36), ForeignKey("subscription.id"), nullable=False),
    Column("youth_id", String(36)),
    Column("categories", JSON, nullable=False),        # changed and named by the criteria (before the decision)
    Column("idempotency_key", String(200), nullable=False),   # "<outbox key>:<subscription id>"
    Column("status", String(16), nullable=False),      # pending | delivered | failed | dead | withheld | cancelled
    Column("attempts", Integer, nullable=False, default=0),
    Column("event_number", BigInteger),                # assigned when first sent; the same on every retry
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("blocking", Boolean, nullable=False, default=False),  # last failure said "endpoint unavailable"
    Column("last_status", Integer),                    # HTTP status of the last attempt (null: no response)
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True)),
    UniqueConstraint("tenant_id", "idempotency_key"),
    Index("ix_notification_delivery_due", "status", "next_attempt_at"),
    Index("ix_notification_delivery_subscription", "subscription_id", "status", "outbox_id"),
)

edfi_pull_state = Table(
    "edfi_pull_state", metadata,
    Column("tenant_id", String(16), primary_key=True),
    Column("lea_id", String(7), primary_key=True),     # the district whose ODS/API is pulled
    Column("base_url", String(500), nullable=False),
    Column("last_change_version", BigInteger),         # newest change version ingested; null: never pulled
    Column("status", String(16), nullable=False),      # ok | failed
    Column("last_batch_id", String(36)),
    Column("records", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

insight_cache = Table(
    "insight_cache", metadata,
    Column("tenant_id", String(16), primary_key=True),
    Column("kind", String(32), primary_key=True),      # indicators: the published (suppressed) tables
    Column("as_of", Date, primary_key=True),           # one computation per day (gateway/web/insights/cache.py)
    Column("computed_at", DateTime(timezone=True), nullable=False),
    Column("seconds", Float, nullable=False),
    Column("payload", JSON, nullable=False),           # aggregate counts after small-cell suppression only
)

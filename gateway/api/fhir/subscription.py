"""FHIR R4 Subscription (rest-hook): create, read, search, delete. A subscription belongs to the
client that created it: any other client gets 404, as if it did not exist. The domain lives in
gateway.notify; see docs/notifications.md."""
from __future__ import annotations

from flask import abort, request

from ...auth import current_requester, require
from ...clock import utcnow
from ...notify.config import NotifyConfig
from ...notify.subscriptions import SubscriptionError, create, delete, from_fhir, get_owned, list_owned, \
    open_secrets, to_fhir
from ...store.engine import write_tx
from .. import engine
from ..errors import operation_outcome
from . import CAPABILITIES, fhir
from .common import audit, json_body, page_params, searchset, tenant
from .wire import fhir_response

CAPABILITIES["Subscription"] = {"interaction": ["create", "read", "search-type", "delete"],
                                "searchParam": [{"name": "status", "type": "token"},
                                                {"name": "_count", "type": "number"}]}

CREATE = ("system/Subscription.c", "system/Subscription.write", "system/*.write", "system/*.c")
READ = ("system/Subscription.rs", "system/Subscription.read", "system/Subscription.r", "system/*.read", "system/*.rs")
DELETE = ("system/Subscription.d", "system/Subscription.write", "system/*.write", "system/*.d")
# a notification names a youth's Patient: the subscriber must be allowed to read Patients
PATIENT_READ = ("system/Patient.rs", "system/Patient.read", "system/Patient.r")


def _render(row) -> dict:
    try:
        headers = open_secrets(row.id, row.secrets, row.key_id).get("headers")
    except Exception:
        headers = None
    return to_fhir(row, headers)


@fhir.post("/Subscription")
@require(*CREATE)
def create_subscription():
    who = current_requester()
    if not who.has_scope(*PATIENT_READ):
        return operation_outcome(403, "notifications name the youth's Patient: the token needs system/Patient.rs "
                                      "(or system/Patient.read) besides the Subscription scope", "forbidden")
    try:
        values = from_fhir(json_body(), allow_http=NotifyConfig.from_env().allow_http)
    except SubscriptionError as e:
        return operation_outcome(e.status, str(e), "invalid" if e.status == 400 else "processing")
    now = utcnow()
    with write_tx(engine()) as conn:
        row, secret = create(conn, tenant(), who, values, now)
    audit("subscription-create", None, "permit", {"subscription": row["id"], "criteria": row["criteria"],
                                                  "endpoint": row["endpoint"], "payload": row["payload"] or "empty"})
    return fhir_response(to_fhir(row, values["headers"], signing_secret=secret), 201, etag_version=1,
                         headers={"Location": f"/fhir/Subscription/{row['id']}"})


@fhir.get("/Subscription/<sub_id>")
@require(*READ)
def read_subscription(sub_id: str):
    with engine().connect() as conn:
        row = get_owned(conn, tenant(), current_requester().client_id, sub_id)
    if row is None:
        abort(404, description=f"Subscription/{sub_id} is not known")
    return fhir_response(_render(row))


@fhir.get("/Subscription")
@require(*READ)
def search_subscription():
    count, offset = page_params()
    status = request.args.get("status") or None
    with engine().connect() as conn:
        rows = list_owned(conn, tenant(), current_requester().client_id, status)
    page = [_render(r) for r in rows[offset:offset + count]]
    return fhir_response(searchset("Subscription", page, len(rows), count, offset))


@fhir.delete("/Subscription/<sub_id>")
@require(*DELETE)
def delete_subscription(sub_id: str):
    who = current_requester()
    with write_tx(engine()) as conn:
        row = get_owned(conn, tenant(), who.client_id, sub_id)
        if row is None:
            abort(404, description=f"Subscription/{sub_id} is not known")
        delete(conn, tenant(), sub_id, utcnow())
    audit("subscription-delete", None, "permit", {"subscription": sub_id})
    return "", 204

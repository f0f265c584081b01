"""An audit row as a FHIR R4 AuditEvent (IHE BALP PrivacyDisclosure.Source style).

`to_audit_event(row)` takes a row of `audit_event` (a SQLAlchemy Row or any mapping with its
columns) and returns a plain dict, valid against R4/R4B AuditEvent. Cheap: no model is built.

- type: FHIR REST interactions (read, vread, search*, history, $operation) get
  audit-event-type `rest`; sign-in/out DICOM 110114 "User Authentication"; changes to what may
  be shared (consent-*, caseload-*, subscription-*, identity-review, ...: see CHANGE_WORDS) the
  local hep-audit-type `record-change`; any other action (a disclosure outside the FHIR API:
  passport or HEP view, Ed-Fi read, notification delivery) DICOM 110106 "Export".
- subtype: restful-interaction code (read, search-type, operation, ...) and, for an operation,
  the operation in the local hep-audit-action system ($passport, $export, ...); sign-in/out
  DICOM 110122/110123; disclosures ISO 21089 `disclose`; always the action itself in
  hep-audit-action, so nothing is lost.
- action: R for read/search/history/views, C/U/D for changes (create/add, update/approve/revoke,
  delete/remove), E for operations, authentication and other disclosures.
- outcome: 0 permit / permit-redacted, 4 deny, 8 error; outcomeDesc = the decision's reason.
- purposeOfEvent: v3-ActReason codes as such; local codes (x-...) in the hep-purpose system.
- agent: the acting user (requestor=true, role = the policy role), the client organization
  (v3 IRCP information recipient) and the gateway (DICOM 110153 Source Role ID).
- entity: the youth (Patient/<id>, role patient); the disclosed data with security labels and
  details (decision, released/denied categories, redactions, obligations, count, each rule with
  its citation); up to 20 released resources by reference.
"""
from __future__ import annotations

from typing import Any, Mapping

from .chain import iso_utc

BASE = "https://hep.lacounty.example/fhir"
CS_PURPOSE = f"{BASE}/CodeSystem/hep-purpose"
CS_ACTION = f"{BASE}/CodeSystem/hep-audit-action"
CS_ROLE = f"{BASE}/CodeSystem/hep-role"
CS_CATEGORY = f"{BASE}/CodeSystem/hep-category"
CS_AUDIT_TYPE = f"{BASE}/CodeSystem/hep-audit-type"
NS_CLIENT = f"{BASE}/NamingSystem/client-id"
NS_USER = f"{BASE}/NamingSystem/user-id"
NS_GATEWAY = f"{BASE}/NamingSystem/gateway"
EXT_CHAIN = f"{BASE}/StructureDefinition/audit-chain"
V3_ACT_REASON = "http://terminology.hl7.org/CodeSystem/v3-ActReason"
V3_ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
V3_CONF = "http://terminology.hl7.org/CodeSystem/v3-Confidentiality"
V3_PARTICIPATION = "http://terminology.hl7.org/CodeSystem/v3-ParticipationType"
DCM = "http://dicom.nema.org/resources/ontology/DCM"
AUDIT_TYPE = "http://terminology.hl7.org/CodeSystem/audit-event-type"
RESTFUL = "http://hl7.org/fhir/restful-interaction"
ISO21089 = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
ENTITY_TYPE = "http://terminology.hl7.org/CodeSystem/audit-entity-type"
OBJECT_ROLE = "http://terminology.hl7.org/CodeSystem/object-role"
SOURCE_TYPE = "http://terminology.hl7.org/CodeSystem/security-source-type"

_READS = {"read": "read", "vread": "vread", "search": "search-type", "search-type": "search-type",
          "search-system": "search-system", "search-compartment": "search-compartment",
          "history": "history-instance", "history-instance": "history-instance"}
_AUTH = {"signin": "110122", "sign-in": "110122", "login": "110122",
         "signout": "110123", "sign-out": "110123", "logout": "110123"}
# words in an action name that make it a change to sharing configuration, and its CRUD letter
CHANGE_WORDS = {"create": "C", "add": "C", "request": "C", "update": "U", "approve": "U",
                "revoke": "U", "review": "U", "cancel": "U", "delete": "D", "remove": "D"}
_OUTCOME = {"permit": "0", "permit-redacted": "0", "deny": "4", "error": "8"}
_CONF = set("ULMNRV")
MAX_RESOURCE_ENTITIES = 20


def purpose_coding(code: str) -> dict:
    system = CS_PURPOSE if code.startswith("x-") else V3_ACT_REASON
    return {"system": system, "code": code}


def _label(code: str) -> dict:
    return {"system": V3_CONF if code in _CONF else V3_ACT_CODE, "code": code}


def _text(v: Any) -> str:
    if isinstance(v, (list, tuple)):
        return ", ".join(str(x) for x in v)
    return str(v)


def to_audit_event(row: Any) -> dict:
    r: Mapping = row._mapping if hasattr(row, "_mapping") else row
    entry: Mapping = r.get("entry") or {}
    action = r["action"]
    outcome = r["outcome"]

    words = action.lstrip("$").replace("_", "-").split("-")
    change = next((CHANGE_WORDS[w] for w in words if w in CHANGE_WORDS), None)
    if action in _READS:
        type_ = {"system": AUDIT_TYPE, "code": "rest", "display": "RESTful Operation"}
        subtype = [{"system": RESTFUL, "code": _READS[action]}]
        act = "R"
    elif action.startswith("$"):
        type_ = {"system": AUDIT_TYPE, "code": "rest", "display": "RESTful Operation"}
        subtype = [{"system": RESTFUL, "code": "operation"}, {"system": CS_ACTION, "code": action}]
        act = change or "E"
    elif action in _AUTH:
        type_ = {"system": DCM, "code": "110114", "display": "User Authentication"}
        subtype = [{"system": DCM, "code": _AUTH[action], "display": "Login" if _AUTH[action] == "110122" else "Logout"},
                   {"system": CS_ACTION, "code": action}]
        act = "E"
    elif change:
        type_ = {"system": CS_AUDIT_TYPE, "code": "record-change", "display": "Change to what may be shared"}
        subtype = [{"system": CS_ACTION, "code": action}]
        act = change
    else:
        type_ = {"system": DCM, "code": "110106", "display": "Export"}
        subtype = [{"system": ISO21089, "code": "disclose"}, {"system": CS_ACTION, "code": action}]
        act = "R" if words[-1] in ("view", "read", "search", "page") else "E"

    ev: dict[str, Any] = {
        "resourceType": "AuditEvent",
        "id": str(r["seq"]),
        "extension": [{"url": EXT_CHAIN, "extension": [
            {"url": "seq", "valueString": str(r["seq"])},
            {"url": "hash", "valueString": r["hash"]},
            {"url": "prevHash", "valueString": r["prev_hash"]}]}],
        "type": type_,
        "subtype": subtype,
        "action": act,
        "recorded": iso_utc(r["recorded_at"]),
        "outcome": _OUTCOME.get(outcome, "8"),
    }
    if entry.get("reason"):
        ev["outcomeDesc"] = str(entry["reason"])
    if r.get("purpose"):
        ev["purposeOfEvent"] = [{"coding": [purpose_coding(r["purpose"])]}]

    agents = []
    user = {"role": [{"coding": [{"system": CS_ROLE, "code": r["actor_role"]}], "text": r["actor_role"]}],
            "who": {"identifier": {"system": NS_USER, "value": r["actor_id"]}},
            "requestor": True}
    if entry.get("actor_name"):
        user["who"]["display"] = str(entry["actor_name"])
    agents.append(user)
    if r.get("client_id") and r["client_id"] != r["actor_id"]:
        org = {"type": {"coding": [{"system": V3_PARTICIPATION, "code": "IRCP", "display": "information recipient"}]},
               "who": {"identifier": {"system": NS_CLIENT, "value": r["client_id"]}},
               "requestor": False}
        if entry.get("organization"):
            org["who"]["display"] = str(entry["organization"])
        agents.append(org)
    agents.append({"type": {"coding": [{"system": DCM, "code": "110153", "display": "Source Role ID"}]},
                   "who": {"identifier": {"system": NS_GATEWAY, "value": r["tenant_id"]}, "display": "HEP Gateway"},
                   "requestor": False})
    ev["agent"] = agents
    ev["source"] = {"site": r["tenant_id"],
                    "observer": {"identifier": {"system": NS_GATEWAY, "value": r["tenant_id"]}, "display": "HEP Gateway"},
                    "type": [{"system": SOURCE_TYPE, "code": "4", "display": "Application Server"}]}

    entities = []
    if r.get("youth_id"):
        entities.append({"what": {"reference": f"Patient/{r['youth_id']}"},
                         "type": {"system": ENTITY_TYPE, "code": "1", "display": "Person"},
                         "role": {"system": OBJECT_ROLE, "code": "1", "display": "Patient"}})
    details = [{"type": "decision", "valueString": str(entry.get("decision") or outcome)}]
    for key in ("released", "denied", "redactions", "obligations"):
        if entry.get(key):
            details.append({"type": key, "valueString": _text(entry[key])})
    if entry.get("resource_count") is not None:
        details.append({"type": "resource-count", "valueString": str(entry["resource_count"])})
    for rule in entry.get("rules") or ():
        rid = rule.get("id") if isinstance(rule, Mapping) else str(rule)
        cit = rule.get("citation") if isinstance(rule, Mapping) else None
        details.append({"type": "rule", "valueString": f"{rid}: {cit}" if cit else str(rid)})
    data = {"type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
            "role": {"system": OBJECT_ROLE, "code": "4", "display": "Domain Resource"},
            "name": "disclosed data" if outcome in ("permit", "permit-redacted") else "requested data",
            "detail": details}
    labels = [_label(str(c)) for c in entry.get("security") or ()]
    labels += [{"system": CS_CATEGORY, "code": str(c)} for c in entry.get("released") or ()]
    if labels:
        data["securityLabel"] = labels
    if entry.get("query"):
        data["description"] = str(entry["query"])[:1000]
    entities.append(data)
    resources = entry.get("resources") or ()
    if len(resources) <= MAX_RESOURCE_ENTITIES:
        for ref in resources:
            entities.append({"what": {"reference": str(ref)},
                             "type": {"system": ENTITY_TYPE, "code": "2", "display": "System Object"},
                             "role": {"system": OBJECT_ROLE, "code": "4", "display": "Domain Resource"}})
    ev["entity"] = entities
    return ev

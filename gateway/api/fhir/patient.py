"""Patient read and search, and Patient/{id}/$passport — the youth as each requester may see them."""
from __future__ import annotations

from datetime import date

from flask import abort, request
from sqlalchemy import and_, func, or_, select

from ...auth import require
from ...enforce.decisions import load_youth_facts
from ...store import schema as s
from .. import engine, settings
from . import CAPABILITIES, fhir
from .common import as_of, audit, deny_all, disclose, page_params, searchset, tenant
from .release import label
from .wire import fhir_response, instant

SID = "https://hep.lacounty.example/fhir/sid"
IDENTIFIER_SYSTEMS = {"cws-client": f"{SID}/cws-client-id", "cws-case": f"{SID}/cws-case-id",
                      "ssid": f"{SID}/ca-ssid"}
SYSTEM_OF = {v: k for k, v in IDENTIFIER_SYSTEMS.items()}
GENDER = {"F": "female", "M": "male", "X": "other", "U": "unknown"}

CAPABILITIES["Patient"] = {
    "interaction": ["read", "search-type"],
    "searchParam": [{"name": "identifier", "type": "token"}, {"name": "name", "type": "string"},
                    {"name": "family", "type": "string"}, {"name": "given", "type": "string"},
                    {"name": "birthdate", "type": "date"}, {"name": "_count", "type": "number"}],
    "operation": [{"name": "passport", "definition": "https://hep.lacounty.example/fhir/OperationDefinition/passport"}],
}


def patient_resource(y, decision: dict | None) -> dict:
    """The youth's canonical Patient. Without demographics_identity permitted it is only an id."""
    p = {"resourceType": "Patient", "id": y.id,
         "meta": {"versionId": "1", "lastUpdated": instant(y.updated_at)}}
    if decision is None:
        return p
    ids = [{"system": IDENTIFIER_SYSTEMS["cws-client"], "value": y.client_id}]
    if y.case_id:
        ids.append({"system": IDENTIFIER_SYSTEMS["cws-case"], "value": y.case_id})
    if y.ssid:
        ids.append({"system": IDENTIFIER_SYSTEMS["ssid"], "value": y.ssid})
    name = {"use": "official", "family": y.family, "given": [x for x in (y.given, y.middle) if x]}
    p.update(identifier=ids, active=bool(y.in_foster_care), name=[name] + [
        {"use": "old", "family": a.get("family"), "given": [a["given"]] if a.get("given") else []}
        for a in (y.aliases or [])], gender=GENDER.get(y.sex, "unknown"))
    if y.birth_date:
        p["birthDate"] = y.birth_date.isoformat()
    return label(p, decision)


def _youth(conn, youth_id: str):
    return conn.execute(select(s.youth).where(and_(s.youth.c.tenant_id == tenant(), s.youth.c.id == youth_id))).first()


@fhir.get("/Patient/<youth_id>")
@require("system/Patient.read", "system/Patient.r")
def read_patient(youth_id: str):
    with engine().connect() as conn:
        y = _youth(conn, youth_id)
        if y is None:
            abort(404, description=f"Patient/{youth_id} is not known")
        d = disclose(conn, youth_id, ("demographics_identity",))
    decision = d.decisions["demographics_identity"]
    if decision["decision"] not in ("permit", "permit-redacted"):
        return deny_all("read", youth_id, d)
    audit("read", youth_id, "permit", {**d.audit_entry(), "resources": [f"Patient/{youth_id}"]})
    return fhir_response(patient_resource(y, decision), etag_version=1)


@fhir.get("/Patient")
@require("system/Patient.read", "system/Patient.rs", "system/Patient.s")
def search_patient():
    y = s.youth.c
    args = request.args
    q = select(s.youth).where(y.tenant_id == tenant())
    searched = False
    if args.get("identifier"):
        system, _, value = args["identifier"].rpartition("|")
        ident = s.youth_identifier.c
        sub = select(ident.youth_id).where(and_(ident.tenant_id == tenant(), ident.value == value))
        if system:
            key = SYSTEM_OF.get(system)
            if key is None:
                abort(400, description=f"identifier system {system!r} is not searchable here; use one of "
                                       f"{', '.join(IDENTIFIER_SYSTEMS.values())}")
            sub = sub.where(ident.system == key)
        q = q.where(y.id.in_(sub))
        searched = True
    by_name = False
    for param, col in (("family", y.family), ("given", y.given)):
        if args.get(param):
            q = q.where(func.lower(col).startswith(args[param].lower(), autoescape=True))
            by_name = True
    if args.get("name"):
        n = args["name"].lower()
        q = q.where(or_(func.lower(y.family).startswith(n, autoescape=True),
                        func.lower(y.given).startswith(n, autoescape=True)))
        by_name = True
    if by_name and not args.get("birthdate"):
        # a name alone would let a partner browse the youth it may see; the use case is a known person
        abort(400, description="a search by name needs birthdate as well")
    searched = searched or by_name
    if args.get("birthdate"):
        try:
            q = q.where(y.birth_date == date.fromisoformat(args["birthdate"].removeprefix("eq")))
        except ValueError:
            abort(400, description="birthdate must be YYYY-MM-DD")
        searched = True
    if not searched:
        abort(400, description="search Patient by identifier, or by name/family/given with birthdate")
    count, offset = page_params()
    matches, withheld = [], []
    with engine().connect() as conn:
        for row in conn.execute(q.order_by(y.family, y.given, y.id).limit(1000)):
            d = disclose(conn, row.id, ("demographics_identity",))
            decision = d.decisions["demographics_identity"]
            if decision["decision"] in ("permit", "permit-redacted"):
                matches.append(patient_resource(row, decision))
            else:
                withheld.append(row.id)  # absent from the results: existence is not disclosed
    page = matches[offset:offset + count]
    audit("search", None, "permit",
          {"resource_type": "Patient", "returned": [p["id"] for p in page], "withheld_count": len(withheld)})
    return fhir_response(searchset("Patient", page, len(matches), count, offset))


@fhir.get("/Patient/<youth_id>/$passport")
@require("system/Patient.read", "system/*.read", "system/Patient.r", "system/*.r")
def passport(youth_id: str):
    from ...passport import assemble
    with engine().connect() as conn:
        facts = load_youth_facts(conn, tenant(), youth_id)   # read once: the decision and the document
        if facts is None:
            abort(404, description=f"Patient/{youth_id} is not known")
        d = disclose(conn, youth_id, facts=facts)
        allowed = d.permitted()
        if not allowed:
            return deny_all("passport", youth_id, d)
        bundle = assemble(conn, tenant(), youth_id, allowed, as_of=as_of(), base_url=settings().base_url,
                          youth_row=facts.youth)
    released = sorted({e["resource"]["resourceType"] + "/" + e["resource"]["id"] for e in bundle.get("entry", [])})
    audit("passport", youth_id, "permit", {**d.audit_entry(), "resource_count": len(released)})
    return fhir_response(bundle)

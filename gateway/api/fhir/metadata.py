"""GET /fhir/metadata: the CapabilityStatement, built from what the capability modules declare."""
from __future__ import annotations


from ... import __version__
from .. import settings
from . import CAPABILITIES, SYSTEM_OPERATIONS, fhir
from .wire import fhir_response


def capability_statement() -> dict:
    base = settings().base_url.rstrip("/")
    resources = []
    for rtype in sorted(CAPABILITIES):
        cap = CAPABILITIES[rtype]
        entry = {"type": rtype, "interaction": [{"code": c} for c in cap.get("interaction", [])],
                 "versioning": "versioned", "readHistory": False, "updateCreate": False}
        if cap.get("searchParam"):
            entry["searchParam"] = cap["searchParam"]
        if cap.get("operation"):
            entry["operation"] = cap["operation"]
        resources.append(entry)
    rest = {"mode": "server", "resource": resources,
            "security": {"cors": False, "service": [{"coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/restful-security-service", "code": "SMART-on-FHIR"}]}],
                "description": "SMART Backend Services (client_credentials with private_key_jwt, RS384/ES384); "
                               "every disclosure is decided by the HEP disclosure policy and audited."}}
    if SYSTEM_OPERATIONS:
        rest["operation"] = SYSTEM_OPERATIONS
    return {
        "resourceType": "CapabilityStatement", "status": "active", "date": "2026-11-23",
        "publisher": "HEP Gateway", "kind": "instance",
        "software": {"name": "HEP Gateway", "version": __version__},
        "implementation": {"description": "Health and Education Passport gateway", "url": f"{base}/fhir"},
        "fhirVersion": "4.0.1", "format": ["application/fhir+json", "json"], "rest": [rest],
    }


@fhir.get("/metadata")
def metadata():
    return fhir_response(capability_statement())

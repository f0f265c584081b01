"""Per-document conversion state: ids, references, security labels, validation, records and problems.

Mappers call `ctx.emit(resource, element, key_parts)`; the context gives the resource its
deterministic id (uuid5 of type + natural key), labels it through `adapters.sensitivity`,
validates it with its R4B model and queues a Record, or a Problem when validation fails.
"""
from __future__ import annotations

import uuid
from typing import Iterable

from pydantic import ValidationError

from . import sensitivity
from .ids import uuid5_str
from .base import Problem, Record, Subject, natural_key, truncate
from .ccda_datatypes import (T, Narrative, TimePolicy, address, first_id, human_name,
                             identifier, telecom, text_of, xpath_of)

NAMESPACE = uuid.UUID("6f1c8a52-3c59-5d3e-9a55-7c1f0d2b8e41")

_MODELS: dict[str, type] = {}


def model_for(resource_type: str):
    m = _MODELS.get(resource_type)
    if m is None:
        from fhir.resources.R4B import get_fhir_model_class
        m = _MODELS[resource_type] = get_fhir_model_class(resource_type)
    return m


def resource_id(resource_type: str, key: str) -> str:
    return uuid5_str(NAMESPACE, resource_type + "\x1f" + key)


def categorize(resource: dict, facts: sensitivity.SourceFacts) -> tuple[str, list[dict]]:
    """sensitivity.classify when it exists, else the category by resource type with no labels."""
    classify = getattr(sensitivity, "classify", None)
    if classify is not None:
        return classify(resource, facts)
    return sensitivity.BY_RESOURCE_TYPE.get(resource["resourceType"],
                                            "conditions_problems_hospitalizations"), []


class Ctx:
    def __init__(self, root, filename: str, policy: TimePolicy, options: dict):
        self.root = root
        self.file = filename
        self.policy = policy
        self.narrative = Narrative(root)
        self.part2 = bool(options.get("part2_program"))
        self.minor_consented = bool(options.get("minor_consented"))
        self.validate = options.get("validate", True)
        self.doc_key = first_id(root) or filename
        self.confidentiality: str | None = None
        self.doc_labels: list[dict] = []
        self.subject: Subject | None = None
        self.patient_ref: str | None = None
        self.out: list = []
        self.targets: list[dict] = []
        self._keys: set[tuple[str, str]] = set()
        self._parties: dict[str, str] = {}
        self.counts: dict[str, int] = {}

    # --- output ------------------------------------------------------------------------------
    def problem(self, el, message: str, severity: str = "error", field: str | None = None) -> None:
        raw = None
        if el is not None:
            from lxml import etree
            raw = truncate(etree.tostring(el, encoding="unicode", with_tail=False), 1000)
        self.out.append(Problem(file=self.file, line=getattr(el, "sourceline", None),
                                field=field or (xpath_of(el) if el is not None else None),
                                message=message, severity=severity, raw=raw))

    def key_for(self, rtype: str, el, parts: Iterable) -> str:
        key = natural_key(self.doc_key, *parts)
        if (rtype, key) in self._keys:  # vendors reuse entry ids: fall back on the location
            key = natural_key(self.doc_key, *parts, xpath_of(el))
        self._keys.add((rtype, key))
        return key

    def assign(self, resource: dict, el, parts: Iterable, key: str | None = None) -> str:
        """Give a resource its id now (so others can reference it); returns 'Type/id'."""
        rtype = resource["resourceType"]
        key = key or self.key_for(rtype, el, parts)
        resource["id"] = resource_id(rtype, key)
        resource["__key"] = key
        return f"{rtype}/{resource['id']}"

    def emit(self, resource: dict, el, parts: Iterable = (), labels: list[dict] | None = None,
             key: str | None = None) -> str | None:
        if "id" not in resource:
            self.assign(resource, el, parts, key)
        key = resource.pop("__key")
        rtype = resource["resourceType"]
        facts = sensitivity.SourceFacts(
            part2_program=self.part2, minor_consented=self.minor_consented,
            confidentiality=self.confidentiality, labels=list(self.doc_labels) + list(labels or ()))
        category, security = categorize(resource, facts)
        if security:
            resource.setdefault("meta", {})["security"] = security
        if self.validate:
            try:
                model_for(rtype).model_validate(resource)
            except ValidationError as e:
                errs = "; ".join(f"{'.'.join(str(p) for p in x['loc'])}: {x['msg']}" for x in e.errors()[:5])
                self.problem(el, f"{rtype} did not validate as FHIR R4: {errs}")
                return None
        path = xpath_of(el) if el is not None else "/ClinicalDocument"
        line = getattr(el, "sourceline", None) if el is not None else None
        facts_out: dict = {}
        if self.part2:
            facts_out["part2_program"] = True
        if self.minor_consented:
            facts_out["minor_consented"] = True
        if self.confidentiality:
            facts_out["confidentiality"] = self.confidentiality
        if facts.labels:
            facts_out["source_security"] = facts.labels  # DS4P labels as sent, kept for re-labelling
        self.out.append(Record(standard="fhir", type=rtype, category=category, resource=resource,
                               source={"file": self.file, "path": path, "line": line},
                               key=key, subject=self.subject, labels=facts_out))
        self.counts[rtype] = self.counts.get(rtype, 0) + 1
        ref = f"{rtype}/{resource['id']}"
        if rtype not in ("Provenance", "Patient"):
            self.targets.append({"reference": ref})
        return ref

    # --- parties: Practitioner / Organization / PractitionerRole / Location ----------------------
    def organization(self, org_el) -> str | None:
        if org_el is None or org_el.get("nullFlavor"):
            return None
        name = text_of(org_el.find(T.name))
        ids = [identifier(i) for i in org_el.iterchildren(T.id)]
        ids = [i for i in ids if i]
        if not name and not ids:
            return None
        k = "org|" + ("|".join(sorted(i["system"] + "#" + i["value"] for i in ids)) or name)
        if k in self._parties:
            return self._parties[k]
        res: dict = {"resourceType": "Organization", "active": True}
        if ids:
            res["identifier"] = ids
        if name:
            res["name"] = name
        tel = [t for t in (telecom(x) for x in org_el.iterchildren(T.telecom)) if t]
        if tel:
            res["telecom"] = tel
        addr = [a for a in (address(x) for x in org_el.iterchildren(T.addr)) if a]
        if addr:
            res["address"] = addr
        ref = self._emit_party(res, org_el, k)
        return ref

    def practitioner(self, entity_el, role_code=None, function_cc=None) -> str | None:
        """assignedEntity / assignedAuthor -> Practitioner (+ Organization + PractitionerRole)."""
        if entity_el is None:
            return None
        person = entity_el.find(T.assignedPerson)
        org_ref = self.organization(entity_el.find(T.representedOrganization))
        if person is None:
            return org_ref
        name = human_name(person.find(T.name))
        ids = [i for i in (identifier(x) for x in entity_el.iterchildren(T.id)) if i]
        if not name and not ids:
            return org_ref
        k = "pract|" + ("|".join(sorted(i["system"] + "#" + i["value"] for i in ids))
                        or repr(sorted(name.items())))
        ref = self._parties.get(k)
        if ref is None:
            res: dict = {"resourceType": "Practitioner", "active": True}
            if ids:
                res["identifier"] = ids
            if name:
                res["name"] = [name]
            tel = [t for t in (telecom(x) for x in entity_el.iterchildren(T.telecom)) if t]
            if tel:
                res["telecom"] = tel
            addr = [a for a in (address(x) for x in entity_el.iterchildren(T.addr)) if a]
            if addr:
                res["address"] = addr
            ref = self._emit_party(res, entity_el, k)
        if ref and (org_ref or role_code or function_cc):
            rk = f"role|{ref}|{org_ref}|{function_cc and function_cc.get('text')}"
            if rk not in self._parties:
                role: dict = {"resourceType": "PractitionerRole", "active": True, "practitioner": {"reference": ref}}
                if org_ref:
                    role["organization"] = {"reference": org_ref}
                codes = [c for c in (function_cc, role_code) if c]
                if codes:
                    role["code"] = codes
                self._emit_party(role, entity_el, rk)
        return ref

    def location(self, role_el) -> str | None:
        """participantRole (service delivery location) -> Location."""
        if role_el is None:
            return None
        ent = role_el.find(T.playingEntity)
        name = text_of(ent.find(T.name)) if ent is not None else None
        addr = address(role_el.find(T.addr))
        if not name and not addr:
            return None
        k = f"loc|{name}|{addr}"
        if k in self._parties:
            return self._parties[k]
        res: dict = {"resourceType": "Location", "status": "active"}
        if name:
            res["name"] = name
        if addr:
            res["address"] = addr
        from .ccda_datatypes import codeable
        cc = codeable(role_el.find(T.code), self.narrative)
        if cc:
            res["type"] = [cc]
        tel = [t for t in (telecom(x) for x in role_el.iterchildren(T.telecom)) if t]
        if tel:
            res["telecom"] = tel
        return self._emit_party(res, role_el, k)

    def _emit_party(self, res: dict, el, k: str) -> str | None:
        # parties are keyed by their own identity (not the document) so they merge across documents
        key = natural_key("party", k)
        rtype = res["resourceType"]
        self._keys.add((rtype, key))
        res["id"] = resource_id(rtype, key)
        res["__key"] = key
        ref = self.emit(res, el)
        self._parties[k] = ref
        return ref


"""What an Ed-Fi resource points at, and who may touch it.

* `EdOrgs`: the schools and districts (LEAs) the gateway holds as reference data (`schools`,
  `localEducationAgencies` resources), cached per process and reloaded when they change. A school's
  district is its `localEducationAgencyReference`, else the first 7 digits of a 14-digit CDS code in
  `identificationCodes`.
* `edorg_refs(collection, body)`: the education organizations a record belongs to (school, LEA or
  either), which decide the district a vendor needs to write or read it.
* `student_uid(collection, body)`: the student a record is about.
* `dependency_refs(collection, body)`: other stored resources a record references that must exist
  (409 when they do not), beyond its student and school.
"""
from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import orjson
from sqlalchemy import and_, func, select

from ...ingest.sealing import unseal
from ...store import schema as s

REF_COLLECTIONS = ("schools", "localEducationAgencies")
_CDS14 = re.compile(r"^\d{14}$")

# collection -> [(json path, kind)] where kind is "school" (a schoolId), "lea" or "edorg" (either)
EDORG_PATHS: dict[str, tuple[tuple[tuple[str, ...], str], ...]] = {
    "schools": ((("localEducationAgencyReference", "localEducationAgencyId"), "lea"),),
    "localEducationAgencies": ((("localEducationAgencyId",), "lea"),),
    "studentSchoolAssociations": ((("schoolReference", "schoolId"), "school"),),
    "studentSchoolAttendanceEvents": ((("schoolReference", "schoolId"), "school"),),
    "studentSchoolAttendanceSummaries": ((("schoolReference", "schoolId"), "school"),),
    "studentEducationOrganizationAssociations": ((("educationOrganizationReference", "educationOrganizationId"), "edorg"),),
    "studentProgramAssociations": ((("educationOrganizationReference", "educationOrganizationId"), "edorg"),),
    "studentSpecialEducationProgramAssociations": ((("educationOrganizationReference", "educationOrganizationId"), "edorg"),),
    "studentAcademicRecords": ((("educationOrganizationReference", "educationOrganizationId"), "edorg"),),
    "courseTranscripts": ((("studentAcademicRecordReference", "educationOrganizationId"), "edorg"),),
    "grades": ((("studentSectionAssociationReference", "schoolId"), "school"),),
    "studentAssessments": ((("reportedSchoolReference", "schoolId"), "school"),),
    "disciplineIncidents": ((("schoolReference", "schoolId"), "school"),),
    "studentDisciplineIncidentBehaviorAssociations": ((("disciplineIncidentReference", "schoolId"), "school"),),
    "disciplineActions": ((("responsibilitySchoolReference", "schoolId"), "school"),
                          (("assignmentSchoolReference", "schoolId"), "school")),
}
# collections whose district is the student's: visible to a vendor with an enrollment in its districts
ENROLLMENT_COLLECTIONS = ("studentSchoolAssociations", "studentEducationOrganizationAssociations")


def _get(body: dict, path: tuple[str, ...]):
    node = body
    for p in path:
        if not isinstance(node, dict):
            return None
        node = node.get(p)
    return node


def edorg_refs(collection: str, body: dict) -> list[tuple[str, str, int]]:
    """[(json path, kind, id)] of the education organizations the record belongs to."""
    out = []
    for path, kind in EDORG_PATHS.get(collection, ()):
        v = _get(body, path)
        if isinstance(v, int) and not isinstance(v, bool):
            out.append(("$." + ".".join(path), kind, v))
    return out


def student_uid(collection: str, body: dict) -> str | None:
    if collection == "students":
        return body.get("studentUniqueId")
    for ref in ("studentReference", "studentSectionAssociationReference", "studentAcademicRecordReference"):
        v = _get(body, (ref, "studentUniqueId"))
        if v:
            return v
    return None


def dependency_refs(collection: str, body: dict) -> list[tuple[str, str, dict]]:
    """[(json path, collection, the referenced resource's identity as a body)] of stored resources the record needs besides its
    student and school (the gateway does not hold courses, sections, sessions or programs, so
    those references are not checked)."""
    out = []
    if collection == "courseTranscripts":
        a = body.get("studentAcademicRecordReference") or {}
        ref = {"studentReference": {"studentUniqueId": a.get("studentUniqueId")},
               "educationOrganizationReference": {"educationOrganizationId": a.get("educationOrganizationId")},
               "schoolYearTypeReference": {"schoolYear": a.get("schoolYear")}, "termDescriptor": a.get("termDescriptor")}
        out.append(("$.studentAcademicRecordReference", "studentAcademicRecords", ref))
    if collection == "studentDisciplineIncidentBehaviorAssociations":
        d = body.get("disciplineIncidentReference") or {}
        ref = {"schoolReference": {"schoolId": d.get("schoolId")}, "incidentIdentifier": d.get("incidentIdentifier")}
        out.append(("$.disciplineIncidentReference", "disciplineIncidents", ref))
    return out


def school_lea(body: dict) -> int | None:
    lea = _get(body, ("localEducationAgencyReference", "localEducationAgencyId"))
    if isinstance(lea, int):
        return lea
    for code in body.get("identificationCodes") or ():
        v = str(code.get("identificationCode") or "").strip()
        if _CDS14.match(v):
            return int(v[:7])
    return None


def load_body(tenant: str, row) -> dict:
    return orjson.loads(unseal(tenant, row.category, row.body, row.key_id))


@dataclass
class _Snapshot:
    fingerprint: tuple
    school_lea: dict      # schoolId -> LEA id (None when the school names no district)
    leas: set


class EdOrgs:
    """The tenant's schools and LEAs: {schoolId: leaId}, {leaId}. Cached per (engine, tenant) and
    reloaded when the count, newest update or version sum of those resources changes."""

    _cache: dict[tuple[int, str], _Snapshot] = {}
    _lock = threading.Lock()

    def __init__(self, conn, tenant: str):
        r = s.resource.c
        where = and_(r.tenant_id == tenant, r.standard == "edfi", r.rtype.in_(REF_COLLECTIONS))
        fp = tuple(conn.execute(select(func.count(), func.max(r.updated_at), func.sum(r.version)).where(where)).one())
        key = (id(conn.engine), tenant)
        with self._lock:
            snap = self._cache.get(key)
        if snap is None or snap.fingerprint != fp:
            schools, leas = {}, set()
            for row in conn.execute(select(r.rtype, r.body, r.key_id, r.category)
                                    .where(and_(where, r.deleted.is_(False)))):
                body = load_body(tenant, row)
                if row.rtype == "schools":
                    schools[body["schoolId"]] = school_lea(body)
                else:
                    leas.add(body["localEducationAgencyId"])
            snap = _Snapshot(fp, schools, leas)
            with self._lock:
                self._cache[key] = snap
        self.school_lea, self.leas = snap.school_lea, snap.leas

    def lea_of(self, kind: str, edorg: int) -> tuple[str, int | None]:
        """("ok", lea) | ("unknown", None) when the gateway does not know the organization |
        ("no-district", None) for a school that names no district."""
        if kind == "lea":
            return "ok", edorg
        if edorg in self.school_lea:
            lea = self.school_lea[edorg]
            return ("ok", lea) if lea is not None else ("no-district", None)
        if kind == "edorg" and edorg in self.leas:
            return "ok", edorg
        return "unknown", None

    def districts_of(self, collection: str, body: dict) -> set | None:
        """LEAs the record belongs to; None when it names no education organization."""
        if collection == "schools":
            lea = school_lea(body)
            return {lea} if lea is not None else set()
        refs = edorg_refs(collection, body)
        if not refs:
            return None
        out = set()
        for _, kind, edorg in refs:
            state, lea = self.lea_of(kind, edorg)
            if state == "ok":
                out.add(lea)
        return out


class Access:
    """What one SIS vendor may see and write: records of schools in its districts; records naming
    no school (students, some assessments) when the student has an enrollment (SSA or SEOA) in one
    of its districts, or when this vendor wrote them."""

    def __init__(self, conn, tenant: str, requester, edorgs: EdOrgs):
        self.conn, self.tenant, self.edorgs = conn, tenant, edorgs
        self.leas = {int(x) for x in requester.lea_ids}
        self.own_source = source_system_of(requester)
        self._youth: dict[str, bool] = {}
        self._all_loaded = False

    def _enrolled_here(self, rtype: str, body: dict) -> bool:
        return bool((self.edorgs.districts_of(rtype, body) or set()) & self.leas)

    def preload(self) -> None:
        """Decide every youth at once (collection reads)."""
        if self._all_loaded:
            return
        r = s.resource.c
        seen: dict[str, bool] = {}
        for row in self.conn.execute(select(r.youth_id, r.rtype, r.body, r.key_id, r.category).where(and_(
                r.tenant_id == self.tenant, r.standard == "edfi", r.rtype.in_(ENROLLMENT_COLLECTIONS),
                r.deleted.is_(False), r.youth_id.is_not(None)))):
            if not seen.get(row.youth_id):
                seen[row.youth_id] = self._enrolled_here(row.rtype, load_body(self.tenant, row))
        self._youth.update(seen)
        self._all_loaded = True

    def youth_visible(self, youth_id: str | None) -> bool:
        if not youth_id:
            return False
        hit = self._youth.get(youth_id)
        if hit is not None or self._all_loaded:
            return bool(hit)
        r = s.resource.c
        ok = False
        for row in self.conn.execute(select(r.rtype, r.body, r.key_id, r.category).where(and_(
                r.tenant_id == self.tenant, r.youth_id == youth_id, r.standard == "edfi",
                r.rtype.in_(ENROLLMENT_COLLECTIONS), r.deleted.is_(False)))):
            if self._enrolled_here(row.rtype, load_body(self.tenant, row)):
                ok = True
                break
        self._youth[youth_id] = ok
        return ok

    def row_visible(self, collection: str, row, body: dict) -> bool:
        districts = self.edorgs.districts_of(collection, body)
        if districts is not None:
            return bool(districts & self.leas)
        return row.source_system == self.own_source or self.youth_visible(row.youth_id)


def source_system_of(requester) -> str:
    return f"edfi-api:{requester.client_id}"[:120]

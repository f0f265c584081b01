"""A worker's caseload: who is on it, at-a-glance flags, and adding/removing youth.

On the caseload: youth with an active `care_assignment` of role social_worker for the worker's CWS
person id — from the CWS extract (source "cws") or added here with approval (source "gateway",
`approved_by` set). That is exactly the relationship the disclosure policy checks
(gateway/enforce/relationship.py), so the caseload and the passport can never disagree.
"""
from __future__ import annotations

import uuid
from datetime import date, timedelta

from sqlalchemy import and_, func, or_, select, update

from ..clock import utcnow
from ..enforce import decide_categories
from ..passport.facts import compute, enrollments, school_year_of
from ..passport.rows import load_rows
from ..store import schema as s

A = s.care_assignment.c
Y = s.youth.c
R = s.caseload_request.c

FLAG_CATEGORIES = ("demographics_identity", "enrollment_school_placement", "attendance",
                   "grades_transcripts_credits", "special_education_iep_504", "immunizations",
                   "placement_case_information")
# Doses due by age in months (CDC schedule as California school entry checks it): group -> (CVX codes, due ages)
IMMUNIZATION_GROUPS = {
    "Hep B": ({"08", "43", "44", "45", "51", "102", "104", "110", "189"}, [0, 1, 6]),
    "DTaP/Tdap": ({"20", "01", "09", "22", "50", "102", "106", "107", "110", "113", "115", "120", "130", "138", "139", "146"},
                  [2, 4, 6, 15, 48]),
    "Polio": ({"10", "02", "89", "110", "120", "130", "146"}, [2, 4, 6, 48]),
    "MMR": ({"03", "94"}, [12, 48]),
    "Varicella": ({"21", "94"}, [12, 48]),
    "Tdap (grade 7)": ({"115"}, [132]),
}
GRACE_MONTHS = 2


def _active(today: date):
    return and_(A.start_date <= today, or_(A.end_date.is_(None), A.end_date >= today))


def caseload_ids(conn, tenant: str, person_id: str | None, today: date) -> dict[str, str]:
    """youth id -> "cws" | "gateway" for the youth on this person's caseload today."""
    if not person_id:
        return {}
    out: dict[str, str] = {}
    q = select(A.youth_id, A.source).where(and_(A.tenant_id == tenant, A.role == "social_worker",
                                                A.person_id == person_id, _active(today)))
    for r in conn.execute(q):
        if r.source == "gateway" and out.get(r.youth_id) == "cws":
            continue
        out[r.youth_id] = r.source if out.get(r.youth_id) != "cws" else "cws"
    return out


def on_caseload(conn, tenant: str, person_id: str | None, youth_id: str, today: date) -> bool:
    if not person_id:
        return False
    return conn.execute(select(A.id).where(and_(A.tenant_id == tenant, A.youth_id == youth_id,
                                                A.role == "social_worker", A.person_id == person_id,
                                                _active(today))).limit(1)).first() is not None


def youth_rows(conn, tenant: str, ids) -> dict[str, dict]:
    ids = list(ids)
    if not ids:
        return {}
    q = select(Y.id, Y.given, Y.middle, Y.family, Y.birth_date, Y.client_id, Y.ssid).where(
        and_(Y.tenant_id == tenant, Y.id.in_(ids)))
    return {r.id: dict(r._mapping) for r in conn.execute(q)}


def _age_months(birth: date, today: date) -> int:
    return (today.year - birth.year) * 12 + today.month - birth.month - (1 if today.day < birth.day else 0)


def immunization_gaps(rows, birth: date | None, today: date) -> list[str]:
    """Antigen groups with fewer completed doses on file than are due at this age."""
    if birth is None:
        return []
    age = _age_months(birth, today)
    given: dict[str, int] = {}
    for r in rows:
        if r.rtype != "Immunization" or r.body.get("status") != "completed":
            continue
        codes = {c.get("code") for c in (r.body.get("vaccineCode") or {}).get("coding") or ()
                 if "cvx" in str(c.get("system", "")).lower()}
        for group, (cvx, _) in IMMUNIZATION_GROUPS.items():
            if codes & cvx:
                given[group] = given.get(group, 0) + 1
    out = []
    for group, (_, due_ages) in IMMUNIZATION_GROUPS.items():
        due = sum(1 for m in due_ages if m + GRACE_MONTHS <= age)
        if given.get(group, 0) < due:
            out.append(f"{group} ({given.get(group, 0)} of {due})")
    return out


def school_changed_this_year(rows, today: date) -> bool:
    sy = school_year_of(today)
    enr = [e for e in enrollments(rows) if e.primary]
    for a, b in zip(enr, enr[1:]):
        if b.school_id != a.school_id and not a.year_end and school_year_of(b.entry) == sy and b.entry <= today:
            return True
    return False


def consents_expiring(conn, tenant: str, youth_id: str, today: date, days: int = 30) -> list[dict]:
    c = s.consent.c
    q = select(c.id, c.form, c.expires, c.scope).where(and_(
        c.tenant_id == tenant, c.youth_id == youth_id, c.status == "active", c.revoked_on.is_(None),
        c.expires.is_not(None), c.expires >= today, c.expires <= today + timedelta(days=days)))
    return [dict(r._mapping) for r in conn.execute(q)]


def flags_for(conn, tenant: str, requester, youth_id: str, today: date) -> list[dict]:
    """At-a-glance flags, each computed only from categories the policy releases to this worker.
    A flag whose categories are withheld is simply not computed (and says so)."""
    d = decide_categories(conn, tenant, requester, youth_id, FLAG_CATEGORIES, as_of=today)
    ok = set(d.permitted())
    rows = load_rows(conn, tenant, youth_id, ok & {"enrollment_school_placement", "attendance",
                                                    "grades_transcripts_credits", "special_education_iep_504",
                                                    "immunizations"})
    youth = None
    if "demographics_identity" in ok or "enrollment_school_placement" in ok:
        y = conn.execute(select(Y.birth_date, Y.removal_date).where(and_(Y.tenant_id == tenant, Y.id == youth_id))).first()
        youth = {"removal_date": y.removal_date if "enrollment_school_placement" in ok else None,
                 "birth_date": y.birth_date if "demographics_identity" in ok else None} if y else None
    schools = {}
    facts = compute(rows, youth, today, ok, schools)
    flags: list[dict] = []
    withheld: list[str] = []

    def flag(key, label, detail, needs):
        if not set(needs) <= ok:
            withheld.append(label)
            return
        if detail:
            flags.append({"key": key, "label": label, "detail": detail if isinstance(detail, str) else ""})

    ca = (facts.get("chronic_absence") or {}).get("value")
    absent = (facts.get("days_absent") or {}).get("value") or {}
    enrolled = (facts.get("days_enrolled") or {}).get("value") or {}
    flag("absence", "Chronic absence",
         ca and f"{absent.get('days', 0):g} of {enrolled.get('days', 0):g} days absent this school year",
         ["attendance"])
    flag("school_change", "Changed school this year",
         school_changed_this_year(rows, today) if "enrollment_school_placement" in ok else False,
         ["enrollment_school_placement"])
    ce = (facts.get("credits_expected") or {}).get("value")
    flag("credits", "Credits behind for grade",
         ce and not ce["on_track"] and f"{ce['earned']:g} earned, {ce['expected']:g} expected",
         ["grades_transcripts_credits", "enrollment_school_placement"])
    gaps = immunization_gaps(rows, (youth or {}).get("birth_date"), today) if {"immunizations", "demographics_identity"} <= ok else []
    flag("immunizations", "Immunizations missing", gaps and ", ".join(gaps), ["immunizations", "demographics_identity"])
    iep = (facts.get("iep") or {}).get("value") or {}
    flag("iep", "IEP", iep.get("active") and (", ".join(iep.get("disabilities") or []) or "active IEP"),
         ["special_education_iep_504"])
    exp = consents_expiring(conn, tenant, youth_id, today) if "placement_case_information" in ok else []
    flag("consent", "Consent expiring within 30 days",
         exp and "; ".join(f"{e['form']} expires {e['expires']:%b %-d}" for e in exp), ["placement_case_information"])
    return flags, withheld


# --- adding and removing youth ----------------------------------------------------------------------

def search(conn, tenant: str, *, given: str = "", family: str = "", birth_date: date | None = None,
           ssid: str = "", limit: int = 10) -> list[dict]:
    """Exact look-up only (name + birth date, or SSID): a worker finds the youth they already know,
    never browses the county."""
    cond = [Y.tenant_id == tenant, Y.in_foster_care.is_(True)]
    if ssid:
        cond.append(Y.ssid == ssid.strip())
    elif family and birth_date:
        cond += [func.lower(Y.family) == family.strip().lower(), Y.birth_date == birth_date]
        if given:
            cond.append(func.lower(Y.given) == given.strip().lower())
    else:
        return []
    q = select(Y.id, Y.given, Y.middle, Y.family, Y.birth_date, Y.client_id).where(and_(*cond)).limit(limit)
    return [dict(r._mapping) for r in conn.execute(q)]


def cws_assignment(conn, tenant: str, person_id: str, youth_id: str, today: date):
    """A CWS social-worker assignment for this person that has not ended (possibly starting later)."""
    return conn.execute(select(s.care_assignment).where(and_(
        A.tenant_id == tenant, A.youth_id == youth_id, A.role == "social_worker", A.person_id == person_id,
        A.source == "cws", or_(A.end_date.is_(None), A.end_date >= today)))).first()


def add_assignment(conn, tenant: str, youth_id: str, user, approved_by: str, note: str, today: date) -> str:
    aid = f"gw-{uuid.uuid4().hex[:24]}"
    conn.execute(s.care_assignment.insert().values(
        id=aid, tenant_id=tenant, youth_id=youth_id, role="social_worker", person_id=user.cws_person_id,
        name=user.display_name, organization="DCFS", start_date=today, end_date=None, source="gateway",
        approved_by=approved_by[:120], note=note))
    return aid


def pending_request(conn, tenant: str, youth_id: str, username: str):
    return conn.execute(select(s.caseload_request).where(and_(
        R.tenant_id == tenant, R.youth_id == youth_id, R.requested_by == username, R.status == "pending"))).first()


def create_request(conn, tenant: str, youth_id: str, user, reason: str) -> int:
    return conn.execute(s.caseload_request.insert().values(
        tenant_id=tenant, youth_id=youth_id, requested_by=user.username, person_id=user.cws_person_id,
        reason=(reason or "")[:1000], status="pending", created_at=utcnow())).inserted_primary_key[0]


def my_requests(conn, tenant: str, username: str) -> list[dict]:
    q = (select(s.caseload_request, Y.given, Y.family).join(s.youth, Y.id == R.youth_id)
         .where(and_(R.tenant_id == tenant, R.requested_by == username, R.status == "pending")).order_by(R.id))
    return [dict(r._mapping) for r in conn.execute(q)]


def open_requests(conn, tenant: str) -> list[dict]:
    u = s.staff_user.c
    q = (select(s.caseload_request, Y.given, Y.family, Y.birth_date, u.display_name.label("requester_name"))
         .join(s.youth, Y.id == R.youth_id)
         .outerjoin(s.staff_user, and_(u.tenant_id == R.tenant_id, u.username == R.requested_by))
         .where(and_(R.tenant_id == tenant, R.status == "pending")).order_by(R.id))
    return [dict(r._mapping) for r in conn.execute(q)]


def gateway_assignment(conn, tenant: str, youth_id: str, person_id: str, today: date):
    return conn.execute(select(s.care_assignment).where(and_(
        A.tenant_id == tenant, A.youth_id == youth_id, A.role == "social_worker", A.person_id == person_id,
        A.source == "gateway", _active(today)))).first()


def end_assignment(conn, row, username: str, today: date) -> None:
    """Off the caseload from today: the row's last day is yesterday (kept for the record)."""
    now = utcnow()
    conn.execute(update(s.care_assignment).where(A.id == row.id).values(
        end_date=today - timedelta(days=1),
        note=((row.note or "") + f"\nremoved by {username} at {now:%Y-%m-%d %H:%M}Z").strip()))

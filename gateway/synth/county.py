"""Build a deterministic synthetic county: districts and schools up front, youth lazily by index.

`County.make_youth(i)` rebuilds youth i from its own seeded generator, so a 30,000-youth county
streams through the feed writers without holding everyone in memory, and any writer can ask for
the same youth again and get the same facts.
"""
from __future__ import annotations

import random
from datetime import date, timedelta
from typing import Iterator

from . import names
from .calendar import school_year_of
from .education import add_education
from .health import add_health
from .model import (Assignment, ConsentOnFile, CourtOrder, District, Placement, PresentedPerson,
                    School, Youth)
from .noise import present
from .truth import TruthLog

# district k (k >= 1) uses FEED_MIX[k % len]: any county of 6+ districts has every format
FEED_MIX = ["calpads", "oneroster", "sif", "edfi-xml", "edfi-json", "calpads", "calpads", "oneroster", "calpads",
            "sif", "calpads"]


class County:
    def __init__(self, *, youth: int, districts: int, seed: int, as_of: date, tenant: str = "la",
                 others_ratio: float = 0.15, truth_path=None):
        self.n_youth = youth
        self.n_others = int(round(youth * others_ratio))
        self.seed = seed
        self.as_of = as_of
        self.tenant = tenant
        self.current_sy = school_year_of(as_of)
        rng = random.Random(f"{seed}:county")
        self.districts = self._build_districts(rng, districts)
        self._weights = [1.0 / (k + 1) ** 0.9 for k in range(len(self.districts))]
        self._by_lea = {d.lea_id: d for d in self.districts}
        self._schools = {s.school_id: s for d in self.districts for s in d.schools}
        n_workers = max(3, youth // 14)
        self.workers = [self._person(rng, f"SW{k:05d}", "DCFS") for k in range(n_workers)]
        self.truth = TruthLog(truth_path)

    # --- reference data -------------------------------------------------------------------
    def _build_districts(self, rng: random.Random, n: int) -> list[District]:
        used_codes: set[int] = set()
        used_names: set[str] = set()
        out = []
        school_seq = 100000
        for k in range(n):
            code = rng.randint(60000, 79999)
            while code in used_codes:
                code = rng.randint(60000, 79999)
            used_codes.add(code)
            place = rng.choice(names.PLACES).replace("-", " ")
            while place in used_names and len(used_names) < len(names.PLACES):
                place = rng.choice(names.PLACES).replace("-", " ")
            used_names.add(place)
            lea = f"19{code:05d}"
            fmt = "calpads" if k == 0 else FEED_MIX[k % len(FEED_MIX)]
            d = District(lea_id=lea, name=f"{place} Unified School District", feed_format=fmt)
            n_schools = max(3, int(40 / (k + 1) ** 0.7))
            for j in range(n_schools):
                level = ("elementary", "elementary", "middle", "high")[j % 4]
                school_seq += rng.randint(1, 97)
                sid = f"{school_seq % 10_000_000:07d}"
                street = rng.choice(names.STREETS).replace("-", " ")
                kind = {"elementary": "Elementary", "middle": "Middle School", "high": "High School"}[level]
                d.schools.append(School(
                    school_id=sid, lea_id=lea, name=f"{street} {kind}", level=level,
                    address=f"{rng.randint(100, 9999)} {street} Ave", city=place,
                    zip=f"9{rng.randint(1000, 1899):04d}", phone=f"(323) 555-{rng.randint(1000, 9999)}"))
            out.append(d)
        return out

    def district(self, lea_id: str) -> District:
        return self._by_lea[lea_id]

    def school(self, school_id: str) -> School:
        return self._schools[school_id]

    def _person(self, rng, pid: str, org: str) -> Assignment:
        given = rng.choice(names.GIVEN_F + names.GIVEN_M)
        family = rng.choice(names.FAMILY)
        return Assignment(role="social_worker", person_id=pid, name=f"{given} {family}", organization=org,
                          phone=f"(213) 555-{rng.randint(1000, 9999)}",
                          email=f"{given[0].lower()}{family.lower()}@dcfs.lacounty.example",
                          start=date(2000, 1, 1), end=None)

    # --- youth ----------------------------------------------------------------------------
    @property
    def total(self) -> int:
        return self.n_youth + self.n_others

    def iter_youth(self) -> Iterator[Youth]:
        for i in range(self.total):
            yield self.make_youth(i)

    def make_youth(self, i: int) -> Youth:
        rng = random.Random(f"{self.seed}:y:{i}")
        in_care = i < self.n_youth
        sex = rng.choice("FM")
        given = rng.choice(names.GIVEN_F if sex == "F" else names.GIVEN_M)
        middle = rng.choice(names.GIVEN_F if sex == "F" else names.GIVEN_M)
        family = rng.choice(names.FAMILY)
        if in_care:
            age_days = int(min(rng.triangular(0, 21 * 365, 14 * 365), 20.9 * 365))
        else:
            age_days = rng.randint(5 * 365 + 200, 17 * 365)
            if rng.random() < 0.25 and self.n_youth:
                # a sibling or namesake of a youth in care: the hard case for precision
                twin = self.make_youth(rng.randrange(self.n_youth))
                family = twin.family
                if rng.random() < 0.3:
                    age_days = (self.as_of - twin.birth_date).days
        birth = self.as_of - timedelta(days=age_days)
        lea = rng.choices(self.districts, weights=self._weights)[0].lea_id
        y = Youth(
            index=i, client_id=f"{7000000000 + i * 37 + self.seed % 37:010d}",
            case_id=f"{1900 + self.seed % 97:04d}{i * 13 + 5:015d}",
            given=given, middle=middle, family=family, birth_date=birth, sex=sex,
            ssid=f"{3000000000 + i * 97 + self.seed % 97:010d}", ssid_known_to_cws=rng.random() < 0.85,
            lea_id=lea, local_id=f"{(i * 7919 + 100003) % 900000 + 100000}", race=rng.choice(names.RACES),
            hispanic=rng.random() < 0.55, language=rng.choice(names.LANGUAGES),
            jurisdiction="dependent_300", office=rng.choice(names.OFFICES).replace("-", " "),
            in_care=in_care, mrn=f"MRN{i * 7 + 100000:08d}")
        age = y.age_on(self.as_of)
        if in_care:
            y.jurisdiction = ("nonminor_dependent" if age >= 18 else
                              "ward_602_foster_placement" if age >= 13 and rng.random() < 0.12 else "dependent_300")
            if rng.random() < 0.2:
                y.aliases.append((rng.choice(names.GIVEN_F if sex == "F" else names.GIVEN_M), family))
            self._placements(y, rng)
            self._assignments(y, rng)
            self._orders_and_consents(y, rng)
        self._education(y, rng)
        add_health(y, rng, self.as_of)
        return y

    def _placements(self, y: Youth, rng: random.Random) -> None:
        age_days = (self.as_of - y.birth_date).days
        removal = y.birth_date + timedelta(days=rng.randint(0, max(1, age_days - 30)))
        removal = max(removal, self.as_of - timedelta(days=rng.randint(60, 6 * 365)))
        n = 1 + min(int(rng.expovariate(0.6)), 6)
        span = (self.as_of - removal).days
        cuts = sorted(rng.sample(range(1, max(span, n + 1)), n - 1)) if n > 1 else []
        starts = [removal] + [removal + timedelta(days=c) for c in cuts]
        for k, start in enumerate(starts):
            end = starts[k + 1] if k + 1 < len(starts) else None
            ptype = "SILP" if y.age_on(start) >= 18 else rng.choice(names.PLACEMENT_TYPES[:-2])
            cg_given, cg_family = rng.choice(names.GIVEN_F), rng.choice(names.FAMILY)
            if ptype == "KIN":
                cg_family = y.family
            street = rng.choice(names.STREETS).replace("-", " ")
            y.placements.append(Placement(
                placement_id=f"{y.client_id}-P{k + 1}", start=start, end=end, placement_type=ptype,
                caregiver_id=f"CG{y.index:06d}{k}", caregiver_name=f"{cg_given} {cg_family}",
                address=f"{rng.randint(100, 19999)} {street} St", city=rng.choice(names.PLACES).replace("-", " "),
                zip=f"9{rng.randint(1000, 1899):04d}", phone=f"(626) 555-{rng.randint(1000, 9999)}"))

    def _assignments(self, y: Youth, rng: random.Random) -> None:
        first = y.placements[0].start
        sw = self.workers[(y.index * 7 + rng.randrange(3)) % len(self.workers)]
        if rng.random() < 0.3 and len(self.workers) > 1:
            prev = self.workers[(y.index * 7 + 11) % len(self.workers)]
            switch = first + timedelta(days=max(1, (self.as_of - first).days // 2))
            y.assignments.append(_assign(prev, "social_worker", first, switch))
            first = switch
        y.assignments.append(_assign(sw, "social_worker", first, None))
        atty_org = rng.choice(names.ATTORNEY_ORGS)
        y.assignments.append(Assignment(
            role="attorney", person_id=f"ATY{(y.index * 13) % max(1, self.n_youth // 40 + 1):05d}",
            name=f"{rng.choice(names.GIVEN_F + names.GIVEN_M)} {rng.choice(names.FAMILY)}, Esq.",
            organization=atty_org, phone=f"(213) 555-{rng.randint(1000, 9999)}",
            email=f"atty{y.index % 997}@counsel.example", start=y.placements[0].start, end=None))
        if y.jurisdiction == "ward_602_foster_placement":
            y.assignments.append(Assignment(
                role="probation_officer", person_id=f"PO{y.index % 401:05d}",
                name=f"{rng.choice(names.GIVEN_M)} {rng.choice(names.FAMILY)}", organization="LA County Probation",
                phone=f"(562) 555-{rng.randint(1000, 9999)}", email=f"po{y.index % 401}@probation.example",
                start=y.placements[0].start, end=None))
        if rng.random() < 0.15:
            start = y.placements[0].start + timedelta(days=rng.randint(10, 200))
            if start < self.as_of:
                y.assignments.append(Assignment(
                    role="casa", person_id=f"CASA{y.index % 997:05d}",
                    name=f"{rng.choice(names.GIVEN_F)} {rng.choice(names.FAMILY)}", organization="CASA of Los Angeles",
                    phone=f"(323) 555-{rng.randint(1000, 9999)}", email=f"casa{y.index % 997}@casala.example",
                    start=start, end=None))
                y.court_orders.append(CourtOrder(
                    order_id=f"{y.case_id}-CASA", type="casa_appointment", status="active", issued=start,
                    expires=None, scope=["education_records", "health_records"], recipients=["casa"]))
        cur = y.placements[-1]
        y.assignments.append(Assignment(
            role="caregiver", person_id=cur.caregiver_id, name=cur.caregiver_name, organization=cur.placement_type,
            phone=cur.phone, email="", start=cur.start, end=None))

    def _orders_and_consents(self, y: Youth, rng: random.Random) -> None:
        age = y.age_on(self.as_of)
        start = y.placements[0].start
        if age < 18 and rng.random() < 0.25:
            signed = start + timedelta(days=rng.randint(5, 120))
            signed = min(signed, self.as_of - timedelta(days=10))
            vacated = rng.random() < 0.1
            erh = Assignment(
                role="education_rights_holder", person_id=f"ERH{y.index:06d}",
                name=f"{rng.choice(names.GIVEN_F + names.GIVEN_M)} {rng.choice(names.FAMILY)}",
                organization="", phone=f"(818) 555-{rng.randint(1000, 9999)}", email="",
                start=signed, end=self.as_of - timedelta(days=3) if vacated else None,
                jv535_signed=signed, relationship=rng.choice(["relative", "caregiver", "casa", "other"]))
            y.assignments.append(erh)
            y.court_orders.append(CourtOrder(
                order_id=f"{y.case_id}-JV535", type="jv535_erh_appointment",
                status="vacated" if vacated else "active", issued=signed, expires=None,
                scope=["education_decisions", "education_records"], recipients=["education_rights_holder"],
                limits_parent_ed_rights=True))
        elif age < 18:
            y.assignments.append(Assignment(
                role="education_rights_holder", person_id=f"PAR{y.index:06d}",
                name=f"{rng.choice(names.GIVEN_F)} {y.family}", organization="", phone=f"(818) 555-{rng.randint(1000, 9999)}",
                email="", start=y.birth_date, end=None, relationship="parent"))
        if rng.random() < 0.3:
            signed = self.as_of - timedelta(days=rng.randint(10, 500))
            expires = signed + timedelta(days=365)
            status = "active"
            revoked = None
            roll = rng.random()
            if roll < 0.15:
                status, revoked = "revoked", signed + timedelta(days=rng.randint(1, 60))
            grantor = "youth" if age >= 12 else "parent"
            scope = rng.choice([["immunizations", "allergies", "current_medications", "conditions_problems_hospitalizations"],
                                ["mental_health"], ["grades_transcripts_credits", "attendance", "enrollment_school_placement"]])
            form = "cmia_56.11" if scope[0] != "grades_transcripts_credits" else "ferpa_99.30"
            if form == "ferpa_99.30":
                grantor = "youth" if age >= 18 else ("erh" if any(o.type == "jv535_erh_appointment" for o in y.court_orders) else "parent")
            y.consents.append(ConsentOnFile(
                consent_id=f"{y.client_id}-C1", grantor=grantor, scope=scope,
                recipients=rng.choice([["youth_attorney"], ["casa"], ["treating_provider"], ["caregiver"]]),
                status=status, form=form, signed=signed, expires=expires, revoked_on=revoked))

    def _education(self, y: Youth, rng: random.Random) -> None:
        add_education(self, y, rng)

    def pick_district(self, rng: random.Random) -> str:
        return rng.choices(self.districts, weights=self._weights)[0].lea_id

    def present(self, y: Youth, source: str, *, ssid: bool = True) -> PresentedPerson:
        """How `source` (e.g. "calpads:1964733", "hie") presents youth y; recorded in the truth file."""
        p = present(y, random.Random(f"{self.seed}:p:{y.index}:{source}"), ssid=ssid)
        self.truth.add(source, p, y)
        return p


def _assign(worker: Assignment, role: str, start: date, end: date | None) -> Assignment:
    return Assignment(role=role, person_id=worker.person_id, name=worker.name, organization=worker.organization,
                      phone=worker.phone, email=worker.email, start=start, end=end)

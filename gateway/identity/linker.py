"""Link incoming person records to a youth in scope: deterministic on shared identifiers, then
probabilistic. Possible matches are never merged automatically: they go to the review queue."""
from __future__ import annotations

from datetime import date

from sqlalchemy import and_, func, or_, select

from adapters.base import Subject

from ..store import schema as s
from .matching import Person, score
from .roster import Match, Roster

# a lazy linker reads the whole roster once it has looked up this many people one by one (each
# costs a few queries; the roster of 30,000 youth costs about as much as 200 of them)
LAZY_SUBJECTS = 200

# identifier systems that identify a person on their own (a shared value is a deterministic link)
STRONG_SYSTEMS_PREFIXES = ("ssid", "cws-client", "cws-case", "lea-student|", "mrn|", "source|")


def person_of(subject: Subject) -> Person:
    ssid = next((v for sys_, v in subject.identifiers if sys_ == "ssid"), None)
    birth = date.fromisoformat(subject.birth_date) if subject.birth_date else None
    return Person.of(subject.given, subject.family, subject.middle, birth, subject.sex, ssid, subject.aliases)


class Linker:
    """Holds the tenant's roster and identifier map for the length of one batch."""

    def __init__(self, roster: Roster | None = None):
        self.roster = roster or Roster()
        self._conn = None          # set for lazy linkers: identifiers and candidates read on demand
        self._tenant = None
        self._looked: set = set()
        self._fetches = 0

    @classmethod
    def load(cls, conn, tenant: str, eager: bool = True) -> "Linker":
        """The tenant's youth and identifiers. Eager (a file batch): everything read once. Lazy
        (one API record, one document): only the identifiers and candidate youth a subject needs,
        until more than LAZY_SUBJECTS people have been looked up — then everything, once."""
        self = cls()
        if not eager:
            self._conn, self._tenant = conn, tenant
            return self
        self._load_all(conn, tenant)
        return self

    def _load_all(self, conn, tenant: str) -> None:
        for r in conn.execute(_youth_query(tenant)):
            if r.id not in self.roster.people:
                self._add_person(r)
        for r in conn.execute(select(s.youth_identifier.c.system, s.youth_identifier.c.value,
                                     s.youth_identifier.c.youth_id).where(s.youth_identifier.c.tenant_id == tenant)):
            self.roster.identifiers.setdefault((r.system, r.value), r.youth_id)   # this batch's links stand

    def _add_person(self, r) -> None:
        aliases = [(a.get("given", ""), a.get("family", "")) for a in (r.aliases or [])]
        self.roster.add(r.id, Person.of(r.given, r.family, r.middle, r.birth_date, r.sex, r.ssid, aliases))

    def _fetch(self, subject: Subject) -> None:
        """Lazy mode: bring in this subject's identifiers, the youth they name, and the youth
        whose birth date (or transposed birth date) or family name and birth year could match."""
        if self._conn is None:
            return
        self._fetches += 1
        if self._fetches > LAZY_SUBJECTS:
            # a small file of many people: a few queries per person now cost more than the roster
            self._load_all(self._conn, self._tenant)
            self._conn = None
            return
        ident = s.youth_identifier.c
        wanted = [i for i in subject.identifiers if i not in self._looked and i not in self.roster.identifiers]
        youth_ids = set()
        for system, value in wanted:
            self._looked.add((system, value))
            row = self._conn.execute(select(ident.youth_id).where(and_(
                ident.tenant_id == self._tenant, ident.system == system, ident.value == value))).first()
            if row:
                self.roster.identifiers[(system, value)] = row.youth_id
                youth_ids.add(row.youth_id)
        y = s.youth.c
        conds = [y.id.in_(youth_ids)] if youth_ids else []
        if subject.birth_date:
            b = date.fromisoformat(subject.birth_date)
            days = {b} | ({date(b.year, b.day, b.month)} if b.day <= 12 else set())
            conds.append(y.birth_date.in_(days))
            if subject.family:
                conds.append(and_(func.lower(y.family) == subject.family.lower(),
                                  y.birth_date.between(date(b.year, 1, 1), date(b.year, 12, 31))))
        if conds:
            for r in self._conn.execute(_youth_query(self._tenant).where(or_(*conds))):
                if r.id not in self.roster.people:
                    self._add_person(r)

    def known(self, system: str, value: str) -> str | None:
        if self._conn is not None and (system, value) not in self.roster.identifiers:
            self._fetch(Subject(identifiers=((system, value),)))
        return self.roster.identifiers.get((system, value))

    def resolve(self, subject: Subject) -> Match:
        self._fetch(subject)
        ids = self.roster.identifiers
        hits = {ids[i] for i in subject.identifiers if i in ids}
        if len(hits) == 1:
            youth_id = next(iter(hits))
            if subject.has_demographics:
                # a shared identifier is decisive unless the person plainly is someone else
                sc, reasons = score(person_of(subject), self.roster.people[youth_id])
                if sc < 0:
                    return Match("possible", youth_id, sc, ["identifier agrees but demographics disagree"] + reasons,
                                 method="deterministic")
            return Match("certain", youth_id, 99.0, ["shared identifier"], method="deterministic")
        if len(hits) > 1:
            return Match("possible", sorted(hits)[0], 0.0,
                         [f"identifiers point to {len(hits)} different youth"], method="deterministic")
        if not subject.has_demographics:
            return Match("none", None, 0.0, ["identifier not known and no demographics to match on"],
                         method="deterministic")
        return self.roster.match(person_of(subject))

    def learn(self, subject: Subject, youth_id: str) -> list[tuple[str, str]]:
        """Identifiers of a linked subject that are new to us (to be stored), registered in memory."""
        new = []
        for ident in subject.identifiers:
            if ident not in self.roster.identifiers:
                self.roster.identifiers[ident] = youth_id
                new.append(ident)
        return new


def _youth_query(tenant: str):
    y = s.youth.c
    return select(y.id, y.given, y.family, y.middle, y.birth_date, y.sex, y.ssid, y.aliases).where(y.tenant_id == tenant)

"""Link incoming person records to a youth in scope: deterministic on shared identifiers, then
probabilistic. Possible matches are never merged automatically: they go to the review queue."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from adapters.base import Subject

from ..store import schema as s
from .matching import Person, score
from .roster import Match, Roster

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

    @classmethod
    def load(cls, conn, tenant: str) -> "Linker":
        """The tenant's youth and identifiers, read once for a batch."""
        self = cls()
        rows = conn.execute(select(s.youth.c.id, s.youth.c.given, s.youth.c.family, s.youth.c.middle,
                                   s.youth.c.birth_date, s.youth.c.sex, s.youth.c.ssid, s.youth.c.aliases)
                            .where(s.youth.c.tenant_id == tenant))
        for r in rows:
            aliases = [(a.get("given", ""), a.get("family", "")) for a in (r.aliases or [])]
            self.roster.add(r.id, Person.of(r.given, r.family, r.middle, r.birth_date, r.sex, r.ssid, aliases))
        for r in conn.execute(select(s.youth_identifier.c.system, s.youth_identifier.c.value,
                                     s.youth_identifier.c.youth_id).where(s.youth_identifier.c.tenant_id == tenant)):
            self.roster.identifiers[(r.system, r.value)] = r.youth_id
        return self

    def known(self, system: str, value: str) -> str | None:
        return self.roster.identifiers.get((system, value))

    def resolve(self, subject: Subject) -> Match:
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

"""The youth in scope, indexed for blocking, and the identifier map used for deterministic links."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache

import jellyfish

from .matching import Person, grade, score


@lru_cache(maxsize=65536)
def _sound(part: str) -> str:
    return jellyfish.metaphone(part)[:4]


def _blocks(p: Person) -> list[tuple]:
    keys = []
    if p.birth_date:
        b = p.birth_date
        keys.append(("dob", b))
        if b.day <= 12:
            keys.append(("dob", date(b.year, b.day, b.month)) if b.day != b.month else ("dob", b))
    for part in p.family_parts:
        code = _sound(part)
        if p.birth_date:
            keys.append(("fam-year", code, p.birth_date.year))
        if p.given:
            keys.append(("fam-given", code, p.given[:1]))
    return keys


@dataclass
class Match:
    status: str                # certain | possible | none
    youth_id: str | None
    score: float
    reasons: list[str] = field(default_factory=list)
    method: str = "probabilistic"


class Roster:
    """In-memory view of the youth in scope for one tenant (tens of thousands: small)."""

    def __init__(self):
        self.people: dict[str, Person] = {}
        self.index: dict[tuple, set[str]] = defaultdict(set)
        self.identifiers: dict[tuple[str, str], str] = {}

    def add(self, youth_id: str, person: Person) -> None:
        old = self.people.get(youth_id)
        if old is not None:
            for k in _blocks(old):
                self.index[k].discard(youth_id)
        self.people[youth_id] = person
        for k in _blocks(person):
            self.index[k].add(youth_id)
        for given, family in person.aliases:
            alias = Person.of(given, family, birth_date=person.birth_date)
            for k in _blocks(alias):
                self.index[k].add(youth_id)

    def candidates(self, p: Person) -> set[str]:
        out: set[str] = set()
        for k in _blocks(p):
            out |= self.index.get(k, set())
        return out

    def match(self, p: Person) -> Match:
        scored = sorted(((score(p, self.people[yid]), yid) for yid in self.candidates(p)),
                        key=lambda t: t[0][0], reverse=True)
        if not scored:
            return Match("none", None, 0.0, ["no youth in scope shares a birth date or name block"])
        (best, reasons), yid = scored[0]
        runner = scored[1][0][0] if len(scored) > 1 else None
        status = grade(best, runner)
        if status == "possible" and best >= 13.0 and runner is not None:
            reasons = reasons + [f"another youth in scope scores {runner:.1f}"]
        return Match(status, yid if status != "none" else None, best, reasons)

"""Probabilistic person matching: compare an incoming person with a youth in scope.

Fellegi-Sunter style: each field comparison adds a log-likelihood weight (agreement is evidence
of a match, disagreement against). Weights are set so that one kind of noise real feeds carry
(a nickname, a typo, a compound family name) still scores `certain` only when everything else
agrees exactly, while a transposed birth date or two kinds of noise go to human review.
"""
from __future__ import annotations

import csv
import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from pathlib import Path

from rapidfuzz.distance import JaroWinkler

CERTAIN = 13.0
POSSIBLE = 8.0
AMBIGUITY_MARGIN = 2.5  # a runner-up this close makes even a high score only "possible"
MIDDLE_DIFFERS = 3.0    # everything else agreeing (15.5) minus this stays below CERTAIN

NICKNAMES_CSV = Path(__file__).resolve().parents[2] / "mappings" / "nicknames.csv"
_NON_ALPHA = re.compile(r"[^A-Z ]+")


def normalize(name: str | None) -> str:
    if not name:
        return ""
    return _normalize(name)


@lru_cache(maxsize=65536)
def _normalize(name: str) -> str:
    """Names repeat across a county (and across a feed's records): each is normalised once."""
    s = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode().upper()
    s = s.replace("-", " ").replace("'", "")
    return " ".join(_NON_ALPHA.sub(" ", s).split())


@lru_cache(maxsize=1)
def _nickname_groups() -> dict[str, frozenset[str]]:
    """name -> every name it is interchangeable with (both directions)."""
    groups: dict[str, set[str]] = {}
    with open(NICKNAMES_CSV, newline="") as fh:
        for row in csv.DictReader(fh):
            formal = normalize(row["name"])
            for nick in row["nicknames"].split("|"):
                nick = normalize(nick)
                groups.setdefault(formal, {formal}).add(nick)
                groups.setdefault(nick, {nick}).add(formal)
    return {k: frozenset(v) for k, v in groups.items()}


def nickname_match(a: str, b: str) -> bool:
    g = _nickname_groups().get(a)
    return bool(g and b in g)


@dataclass(frozen=True, slots=True)
class Person:
    """What matching looks at, normalised once."""

    given: str
    family: str
    middle: str
    birth_date: date | None
    sex: str | None
    ssid: str | None
    family_parts: frozenset[str]
    aliases: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, given, family, middle=None, birth_date=None, sex=None, ssid=None, aliases=()) -> "Person":
        fam = normalize(family)
        return cls(normalize(given), fam, normalize(middle), birth_date, sex or None, ssid or None,
                   frozenset(fam.split()), tuple((normalize(g), normalize(f)) for g, f in aliases))


def _family_weight(a: Person, b: Person) -> tuple[float, str]:
    if a.family and a.family == b.family:
        return 5.0, "family name agrees"
    if a.family_parts & b.family_parts:
        return 3.5, "family name shares a part (compound name)"
    if a.family and b.family and JaroWinkler.similarity(a.family, b.family) >= 0.9:
        return 3.5, "family name nearly agrees (typo)"
    return -3.0, "family name differs"


def _given_weight(a: str, b: str) -> tuple[float, str]:
    if not a or not b:
        return 0.0, "given name missing"
    if a == b:
        return 4.0, "given name agrees"
    if nickname_match(a, b):
        return 3.5, "given name is a known nickname"
    if JaroWinkler.similarity(a, b) >= 0.9:
        return 2.5, "given name nearly agrees (typo)"
    if a[0] == b[0] and (len(a) == 1 or len(b) == 1):
        return 0.5, "given name initial agrees"
    return -2.5, "given name differs"


def _birth_weight(a: date | None, b: date | None) -> tuple[float, str]:
    if a is None or b is None:
        return 0.0, "birth date missing"
    if a == b:
        return 6.0, "birth date agrees"
    if a.year == b.year and a.month == b.day and a.day == b.month:
        return 3.0, "birth date month/day transposed"
    same = (a.year == b.year) + (a.month == b.month) + (a.day == b.day)
    if same == 2:
        return 1.5, "birth date differs in one part"
    return -6.0, "birth date differs"


def score(a: Person, b: Person) -> tuple[float, list[str]]:
    """Log-likelihood score of a and b being the same youth, with the reasons."""
    if a.ssid and b.ssid and a.ssid != b.ssid:
        return -20.0, ["SSID differs"]
    reasons = []
    w_fam, r = _family_weight(a, b)
    reasons.append(r)
    w_given, r = _given_weight(a.given, b.given)
    # an alias on file (AKA, previous name) counts like the legal name
    for ag, af in b.aliases:
        alt = Person.of(ag, af)
        wf, rf = _family_weight(a, alt)
        wg, rg = _given_weight(a.given, alt.given)
        if wf + wg > w_fam + w_given:
            w_fam, w_given = wf, wg
            reasons[0] = f"alias: {rf}"
            r = f"alias: {rg}"
    reasons.append(r)
    w_birth, r = _birth_weight(a.birth_date, b.birth_date)
    reasons.append(r)
    total = w_fam + w_given + w_birth
    if a.sex and b.sex:
        total += 0.5 if a.sex == b.sex else -2.5
        reasons.append("sex agrees" if a.sex == b.sex else "sex differs")
    if a.middle and b.middle:
        if a.middle == b.middle or (a.middle[0] == b.middle[0] and (len(a.middle) == 1 or len(b.middle) == 1)):
            total += 1.0
            reasons.append("middle name agrees")
        elif JaroWinkler.similarity(a.middle, b.middle) >= 0.9:
            reasons.append("middle name nearly agrees (typo)")
        else:
            # namesakes born the same day (same first, last name and sex) differ here: at county
            # scale a different middle name must send an otherwise perfect match to review
            total -= MIDDLE_DIFFERS
            reasons.append("middle name differs")
    return total, reasons


def grade(best: float, runner_up: float | None) -> str:
    if best >= CERTAIN and (runner_up is None or best - runner_up >= AMBIGUITY_MARGIN):
        return "certain"
    if best >= POSSIBLE:
        return "possible"
    return "none"

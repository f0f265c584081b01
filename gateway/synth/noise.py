"""Identity noise a source applies when it presents a youth: the errors real feeds carry."""
from __future__ import annotations

import csv
import random
from functools import lru_cache
from pathlib import Path

from .model import PresentedPerson, Youth

NICKNAMES_CSV = Path(__file__).resolve().parents[2] / "mappings" / "nicknames.csv"


@lru_cache(maxsize=1)
def nicknames() -> dict[str, list[str]]:
    with open(NICKNAMES_CSV, newline="") as fh:
        return {row["name"]: row["nicknames"].split("|") for row in csv.DictReader(fh)}


def _typo(rng: random.Random, s: str) -> str:
    if len(s) < 4:
        return s
    i = rng.randrange(1, len(s) - 1)
    kind = rng.randrange(3)
    if kind == 0:  # adjacent transposition
        return s[:i] + s[i + 1] + s[i] + s[i + 2:]
    if kind == 1:  # dropped letter
        return s[:i] + s[i + 1:]
    return s[:i] + rng.choice("aeioulnrst") + s[i + 1:]  # substitution


def present(y: Youth, rng: random.Random, *, ssid: bool = True) -> PresentedPerson:
    """Mostly exact; otherwise one or two of: nickname, typo, transposed birth date, missing SSID,
    hyphenated or swapped family names."""
    given, middle, family, birth = y.given, y.middle, y.family, y.birth_date
    noise: list[str] = []
    r = rng.random()
    if r < 0.08:
        nicks = nicknames().get(given.lower())
        if nicks:
            given = rng.choice(nicks).title()
            noise.append("nickname")
    elif r < 0.14:
        if rng.random() < 0.5:
            family = _typo(rng, family)
        else:
            given = _typo(rng, given)
        noise.append("typo")
    elif r < 0.18 and birth.day <= 12 and birth.month != birth.day:
        birth = birth.replace(month=birth.day, day=birth.month)
        noise.append("transposed_birth_date")
    elif r < 0.20:
        family = f"{family}-{rng.choice(['Lopez', 'Smith', 'Nguyen', 'Garcia'])}"
        noise.append("compound_family_name")
    elif r < 0.23:
        # two errors in one record: the case that must go to a person, never auto-link wrongly
        nicks = nicknames().get(given.lower())
        given = rng.choice(nicks).title() if nicks else _typo(rng, given)
        family = _typo(rng, family)
        if birth.day <= 12 and birth.month != birth.day and rng.random() < 0.5:
            birth = birth.replace(month=birth.day, day=birth.month)
        noise.append("combined")
    show_ssid = ssid and rng.random() > 0.05
    if ssid and not show_ssid:
        noise.append("missing_ssid")
    if rng.random() < 0.1:
        middle = middle[:1]
    return PresentedPerson(given=given, middle=middle, family=family, birth_date=birth, sex=y.sex,
                           ssid=y.ssid if show_ssid else None, local_id=y.local_id, noise=tuple(noise) or ("exact",))

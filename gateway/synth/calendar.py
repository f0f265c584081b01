"""School-year arithmetic shared by the generator and the feed writers."""
from __future__ import annotations

from datetime import date, timedelta


def school_year_of(d: date) -> int:
    """Ending year of the school year containing d (2026 for 2025-26); summer belongs to the next."""
    return d.year + 1 if d.month >= 7 else d.year


def year_start(sy: int) -> date:
    return date(sy - 1, 8, 15)


def year_end(sy: int) -> date:
    return date(sy, 6, 12)


def school_days(a: date, b: date) -> int:
    """Weekdays in [a, b), less about 5% for holidays."""
    if b <= a:
        return 0
    days = (b - a).days
    weeks, rest = divmod(days, 7)
    wd = weeks * 5 + sum(1 for k in range(rest) if (a + timedelta(days=k)).weekday() < 5)
    return max(0, round(wd * 0.95))


def grade_for(birth: date, sy: int) -> str | None:
    """CALPADS grade for a school year: kindergarten at age 5 by Sep 1 of the year's start."""
    age = (sy - 1) - birth.year - ((9, 1) < (birth.month, birth.day))
    if age < 3:
        return None
    if age < 5:
        return "PS"
    if age == 5:
        return "KN"
    g = age - 5
    return f"{g:02d}" if g <= 12 else None

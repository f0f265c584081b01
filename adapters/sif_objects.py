"""SIF US object -> Ed-Fi resource mapping helpers (namespace-agnostic element access, dates, codes)."""
from __future__ import annotations

import re
from datetime import datetime

from mappings import translate

from . import edfi_common as ec
from .base import FieldError
from .xmlsafe import local  # noqa: F401  (re-exported for the SIF modules)

NS = "uri://sifassociation.org"
NAMESPACES = ("http://www.sifinfo.org/infrastructure/2.x", "http://www.sifinfo.org/infrastructure/1.x", "")


class SifError(FieldError):
    pass


def child(el, *path):
    """First descendant along local names, ignoring namespaces (SIF 1.5 / 2.x / none)."""
    cur = el
    for name in path:
        if cur is None:
            return None
        cur = next((c for c in cur if local(c.tag) == name), None)
    return cur


def children(el, name):
    return [c for c in el if local(c.tag) == name] if el is not None else []


def text(el, *path) -> str | None:
    node = child(el, *path) if path else el
    if node is None:
        return None
    v = (node.text or "").strip()
    return v or None


def code(el, name) -> str | None:
    """SIF 2.x `<X><Code>c</Code></X>` or SIF 1.5 `<X Code="c">text</X>`."""
    node = child(el, name)
    if node is None:
        return None
    return node.get("Code") or text(node, "Code") or text(node)


_DATE_FORMATS = ("%Y-%m-%d", "%Y%m%d")


def sif_date(el, *path, required: bool = False) -> str | None:
    v = text(el, *path)
    node = child(el, *path)
    if not v:
        if required:
            raise SifError("/".join(path), f"{'/'.join(path)} is required", getattr(el, "sourceline", None))
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(v, fmt).date().isoformat()
        except ValueError:
            continue
    raise SifError("/".join(path), f"{'/'.join(path)} {v!r} is not a date (YYYY-MM-DD or YYYYMMDD)",
                   getattr(node, "sourceline", None))


def mapped(map_name: str, descriptor_name: str, value: str) -> str:
    """Ed-Fi descriptor for a SIF code; a code with no Ed-Fi equivalent keeps the SIF namespace."""
    t = translate(map_name, value)
    if t is not None and t.code:
        return ec.descriptor(descriptor_name, t.code)
    return ec.local_descriptor(descriptor_name, value, NS)


def school_year_attr(el) -> int | None:
    v = el.get("SchoolYear") or text(el, "SchoolYear")
    if not v:
        return None
    try:
        return ec.school_year(v)
    except ValueError:
        raise SifError("SchoolYear", f"SchoolYear {v!r} is not a year", el.sourceline) from None


def year_of(iso: str) -> int:
    """School year (ending year) of an ISO date: July onwards belongs to the next year."""
    y, m = int(iso[:4]), int(iso[5:7])
    return y + 1 if m >= 7 else y


_SSID = re.compile(r"^\d{10}$")


def is_ssid(v: str | None) -> bool:
    return bool(v and _SSID.match(v))

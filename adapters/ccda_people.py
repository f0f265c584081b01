"""C-CDA people, places and identifiers -> FHIR HumanName, Address, ContactPoint, Identifier."""
from __future__ import annotations

from .ccda_datatypes import T, clean, system_uri, text_of

# --- people, places, contact points -------------------------------------------------------------

_NAME_USE = {"L": "official", "C": "official", "P": "nickname", "A": "anonymous", "ASGN": "usual",
             "OR": "official", "SRCH": "usual", "BR": "old", "PHON": "usual"}


def human_name(el) -> dict | None:
    if el is None or el.get("nullFlavor"):
        return None
    n: dict = {}
    given = [clean(g.text) for g in el.iterchildren(T.given) if clean(g.text)]
    family = [clean(f.text) for f in el.iterchildren(T.family) if clean(f.text)]
    prefix = [clean(p.text) for p in el.iterchildren(T.prefix) if clean(p.text)]
    suffix = [clean(s.text) for s in el.iterchildren(T.suffix) if clean(s.text)]
    if family:
        n["family"] = " ".join(family)
    if given:
        n["given"] = given
    if prefix:
        n["prefix"] = prefix
    if suffix:
        n["suffix"] = suffix
    if not n:
        t = text_of(el)
        if not t:
            return None
        n["text"] = t
    use = _NAME_USE.get((el.get("use") or "").split(" ")[0])
    if use:
        n["use"] = use
    return n


_ADDR_USE = {"H": "home", "HP": "home", "HV": "home", "WP": "work", "DIR": "work", "PUB": "work",
             "TMP": "temp", "BAD": "old", "PHYS": "home", "PST": "home"}


def address(el) -> dict | None:
    if el is None or el.get("nullFlavor"):
        return None
    a: dict = {}
    lines = [clean(x.text) for x in el.iterchildren(T.streetAddressLine) if clean(x.text)]
    if lines:
        a["line"] = lines
    for tag, key in (("city", "city"), ("state", "state"), ("postalCode", "postalCode"),
                     ("country", "country"), ("county", "district")):
        c = el.find(getattr(T, tag))
        if c is not None and clean(c.text):
            a[key] = clean(c.text)
    if not a:
        t = text_of(el)
        if not t:
            return None
        a["text"] = t
    use = _ADDR_USE.get((el.get("use") or "").split(" ")[0])
    if use:
        a["use"] = use
    return a


_TEL_USE = {"HP": "home", "H": "home", "HV": "home", "WP": "work", "MC": "mobile", "TMP": "temp",
            "BAD": "old", "EC": "work", "PG": "work", "AS": "work", "DIR": "work", "PUB": "work"}


def telecom(el) -> dict | None:
    v = el.get("value")
    if not v or el.get("nullFlavor"):
        return None
    v = v.strip()
    low = v.lower()
    if low.startswith("tel:"):
        system, value = "phone", v[4:]
    elif low.startswith("mailto:"):
        system, value = "email", v[7:]
    elif low.startswith("fax:"):
        system, value = "fax", v[4:]
    elif low.startswith(("http:", "https:")):
        system, value = "url", v
    elif "@" in v:
        system, value = "email", v
    else:
        system, value = "phone", v
    value = value.strip()
    if not value:
        return None
    t = {"system": system, "value": value}
    use = _TEL_USE.get((el.get("use") or "").split(" ")[0])
    if use:
        t["use"] = use
    return t


def identifier(el) -> dict | None:
    if el is None or el.get("nullFlavor") and not el.get("root"):
        return None
    root, ext = (el.get("root") or "").strip(), (el.get("extension") or "").strip()
    if not root:
        return None
    if ext:
        sysuri = system_uri(root) or root
        if root == "2.16.840.1.113883.4.6":
            sysuri = "http://hl7.org/fhir/sid/us-npi"
        elif root == "2.16.840.1.113883.4.1":
            sysuri = "http://hl7.org/fhir/sid/us-ssn"
        return {"system": sysuri, "value": ext}
    urn = system_uri(root)
    if urn is None:
        return None
    return {"system": "urn:ietf:rfc:3986", "value": urn}


def id_key(el) -> str | None:
    """A stable text key for an <id>: root|extension (or root)."""
    if el is None:
        return None
    root, ext = el.get("root"), el.get("extension")
    if not root or (el.get("nullFlavor") and not ext):
        return None
    return f"{root}|{ext}" if ext else root


def first_id(stmt) -> str | None:
    for i in stmt.iterchildren(T.id):
        k = id_key(i)
        if k:
            return k
    return None

"""Ed-Fi XML element -> Ed-Fi API JSON, guided by the resource shapes (adapters/edfi_xml_shapes.py).

The XML binding differs from the JSON one in regular ways (notes/edfi-sis.md §2.2), all handled
here without per-resource code:
* element names become camelCase; descriptor elements gain the `Descriptor` suffix
  (`EntryGradeLevel` -> `entryGradeLevelDescriptor`);
* wrapper elements that exist only in XML are flattened (`AttendanceEvent`, `Name`, `BirthData`);
* references lose their `*Identity` wrappers and nested references are flattened into one key set
  (`SessionReference/SessionIdentity/SchoolReference/.../SchoolId` -> `sessionReference.schoolId`);
* repeated elements become arrays under the plural name; a text-only item becomes an object
  holding its descriptor (`<Race>uri…</Race>` -> `races: [{raceDescriptor: uri…}]`);
* `SchoolYear` "2021-2022" becomes the integer 2022; xs:int / decimal / boolean text become JSON
  numbers and booleans (`1`/`true`); surrounding spaces in keys are removed (`255901 ` -> 255901);
* `ref="ID"` references are filled in from an element with that `id` seen earlier in the file.
"""
from __future__ import annotations

import re
from typing import Callable

from .base import FieldError
from .edfi_xml_shapes import SHAPES
from .xmlsafe import local  # noqa: F401  (re-exported for the Ed-Fi XML modules)

_YEAR_PAIR = re.compile(r"^(\d{4})-(\d{4})$")


class ConvertError(FieldError):
    pass




_ACRONYM = re.compile(r"^([A-Z]+)(?=[A-Z][a-z])|^([A-Z]+)$")


def camel(name: str) -> str:
    """JSON property name of an XML element: `BeginDate` -> `beginDate`, and a leading acronym is
    lowercased whole as the Ed-Fi API does (`IEPBeginDate` -> `iepBeginDate`, `IDEAEligibility` ->
    `ideaEligibility`)."""
    m = _ACRONYM.match(name)
    if m:
        k = len(m.group(1) or m.group(2))
        return name[:k].lower() + name[k:]
    return name[:1].lower() + name[1:]


def _plurals(c: str) -> tuple[str, ...]:
    out = [c + "s", c + "es"]
    if c.endswith("y"):
        out.append(c[:-1] + "ies")
    return tuple(out)


def typed(text: str | None, kind: str, key: str, el=None):
    v = (text or "").strip()
    line = getattr(el, "sourceline", None)
    if kind == "i":
        m = _YEAR_PAIR.match(v)
        if m and key.lower().endswith("schoolyear"):
            return int(m.group(2))
        try:
            return int(v)
        except ValueError:
            raise ConvertError(key, f"{key} {v!r} is not an integer", line) from None
    if kind == "n":
        try:
            f = float(v)
        except ValueError:
            raise ConvertError(key, f"{key} {v!r} is not a number", line) from None
        return int(f) if f.is_integer() and "." not in v else f
    if kind == "b":
        if v in ("1", "true"):
            return True
        if v in ("0", "false"):
            return False
        raise ConvertError(key, f"{key} {v!r} is not a boolean", line)
    return v


class Converter:
    """Converts one record element at a time. `ids` maps XML `id` attributes seen so far to the
    flattened leaf values of that element (for `ref=` references); `unmapped` collects XML paths
    with no JSON counterpart (reported once per file, never silently)."""

    def __init__(self, on_unmapped: Callable[[str], None] | None = None):
        self.ids: dict[str, dict] = {}
        self.on_unmapped = on_unmapped or (lambda path: None)

    # -- records ---------------------------------------------------------------------------
    def record(self, el, schema: str) -> dict:
        out: dict = {}
        self._fill(el, schema, out, local(el.tag))
        rid = el.get("id")
        if rid:
            self.remember(rid, el)
        return out

    def remember(self, rid: str, el) -> None:
        flat: dict = {}
        for leaf in el.iter():
            if isinstance(leaf.tag, str) and len(leaf) == 0 and leaf.text and leaf.text.strip():
                flat.setdefault(camel(local(leaf.tag)), leaf.text.strip())
        self.ids[rid] = flat

    def _match(self, name: str, props: dict) -> tuple[str | None, str | None]:
        c = camel(name)
        for key in (c, c + "Descriptor", c + "Reference", c + "TypeReference") + _plurals(c):
            kind = props.get(key)
            if kind is not None:
                return key, kind
        # prefixed collection names: EducationOrganizationIdentificationCode -> identificationCodes
        best = None
        for key, kind in props.items():
            if kind.startswith("a:") and any(p.endswith(key[:1].upper() + key[1:]) for p in _plurals(name)):
                if best is None or len(key) > len(best):
                    best = key
        return (best, props[best]) if best else (None, None)

    def _fill(self, el, schema: str, out: dict, path: str) -> None:
        props = SHAPES[schema]
        for child in el:
            if not isinstance(child.tag, str):
                continue
            name = local(child.tag)
            key, kind = self._match(name, props)
            cpath = f"{path}/{name}"
            if key is None:
                if len(child):
                    self._fill(child, schema, out, cpath)   # XML-only wrapper: flatten
                elif (child.text or "").strip():
                    self.on_unmapped(cpath)
                continue
            if kind.startswith("a:"):
                item_schema = kind[2:]
                item: dict = {}
                if len(child):
                    self._fill(child, item_schema, item, cpath)
                else:
                    item_props = SHAPES[item_schema]
                    c = camel(name)
                    ik = (c + "Descriptor") if (c + "Descriptor") in item_props else c if c in item_props else next(
                        (k for k, t in item_props.items() if t == "s"), None)
                    if ik is None:
                        self.on_unmapped(cpath)
                        continue
                    item[ik] = typed(child.text, item_props[ik], ik, child)
                out.setdefault(key, []).append(item)
            elif kind.startswith("r:"):
                sub = kind[2:]
                if sub.endswith("Reference"):
                    out[key] = self._reference(child, sub, cpath)
                else:
                    obj: dict = {}
                    self._fill(child, sub, obj, cpath)
                    out[key] = obj
            elif kind == "as":
                out.setdefault(key, []).append((child.text or "").strip())
            elif len(child):
                self._value_group(child, key, kind, props, out, cpath)
            else:
                out[key] = typed(child.text, kind, key, child)

    def _value_group(self, el, key: str, kind: str, props: dict, out: dict, path: str) -> None:
        """A scalar JSON property whose XML is a common type holding the value and its qualifiers:
        `<AttemptedCredits><Credits>5</Credits><CreditType>uri…</CreditType></AttemptedCredits>` ->
        attemptedCredits 5, attemptedCreditTypeDescriptor uri… (the first child is the value, the
        others are named by the property stem plus their own name's tail)."""
        stem = key[:-1] if key.endswith("s") else key
        leaves = [c for c in el if isinstance(c.tag, str)]
        first, rest = leaves[0], leaves[1:]
        if len(first):
            self.on_unmapped(f"{path}/{local(first.tag)}")
        else:
            out[key] = typed(first.text, kind, key, first)
        for c in rest:
            name = local(c.tag)
            parts = re.findall(r"[A-Z][^A-Z]*", name) or [name]
            for k in range(len(parts)):
                cand = stem + "".join(parts[k:])
                hit = cand if cand in props else cand + "Descriptor" if cand + "Descriptor" in props else None
                if hit and len(c) == 0 and not props[hit].startswith(("a:", "r:")):
                    out[hit] = typed(c.text, props[hit], hit, c)
                    break
            else:
                self.on_unmapped(f"{path}/{name}")

    def _reference(self, el, schema: str, path: str) -> dict:
        props = SHAPES[schema]
        ref: dict = {}
        if len(el) == 0 and el.text and el.text.strip():       # <SchoolYear>2021-2022</SchoolYear>
            k = next(iter(props))
            return {k: typed(el.text, props[k], k, el)}
        for leaf in el.iter():
            if not isinstance(leaf.tag, str) or len(leaf):
                continue
            k = camel(local(leaf.tag))
            if k not in props and k + "Descriptor" in props:
                k += "Descriptor"
            if k in props:
                ref.setdefault(k, typed(leaf.text, props[k], k, leaf))
            elif (leaf.text or "").strip():
                self.on_unmapped(f"{path}/{local(leaf.tag)}")
        target = el.get("ref")
        if target and len(ref) < len(props):
            known = self.ids.get(target)
            if known is None:
                raise ConvertError(local(el.tag), f"{local(el.tag)} ref={target!r} names no element with that id "
                                   "earlier in the file", el.sourceline)
            for k, kind in props.items():
                src = known.get(k) or known.get(k[:-len("Descriptor")] if k.endswith("Descriptor") else k)
                if k not in ref and src is not None:
                    ref[k] = typed(src, kind, k, el)
        return ref

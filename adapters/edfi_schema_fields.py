"""Strict marshmallow field types for Ed-Fi API JSON, and a compiler that turns a marshmallow
schema into a fast validator.

marshmallow is the definition (readable, the drift test compares it with the official OpenAPI);
the compiled validator is what adapters run per record: the same rules (required, type, maxLength,
minLength, date format, descriptor URI format, no unknown properties), walked with plain dict
lookups, about ten times faster than `Schema.validate`. tests/test_edfi_schema.py checks that the
two report the same fields on good and broken records.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Callable

from marshmallow import Schema, ValidationError, fields, validate

from .edfi_common import DESCRIPTOR_RE, MAX_DESCRIPTOR

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
Errors = list[tuple[str, str]]

MSG_REQUIRED = "Missing data for required field."
MSG_NULL = "Field may not be null."
MSG_UNKNOWN = "Unknown field."


_KNOWN_GOOD_MAX = 65536  # a feed repeats the same dates and descriptors; remember the valid ones
_good_dates: set[str] = set()
_good_descriptors: set[str] = set()


def _remember(seen: set[str], v: str) -> None:
    if len(seen) >= _KNOWN_GOOD_MAX:
        seen.clear()
    seen.add(v)


def _valid_date(v: str) -> bool:
    if v in _good_dates:
        return True
    if not _DATE_RE.match(v):
        return False
    try:
        date(int(v[:4]), int(v[5:7]), int(v[8:10]))
    except ValueError:
        return False
    _remember(_good_dates, v)
    return True


class Str(fields.String):
    """A string with Ed-Fi min/max length (minLength 1 unless told: Ed-Fi rejects empty strings)."""

    def __init__(self, max: int | None = None, min: int = 1, **kw):
        self.max_length, self.min_length = max, min
        super().__init__(validate=validate.Length(min=min, max=max), **kw)


class Descriptor(fields.String):
    """A descriptor URI: uri://<namespace>/<Name>Descriptor#<codeValue>, at most 306 characters."""

    max_length, min_length = MAX_DESCRIPTOR, 1
    default_error_messages = {"descriptor": "Not a descriptor URI (uri://namespace/NameDescriptor#codeValue)."}

    def _deserialize(self, value, attr, data, **kw):
        v = super()._deserialize(value, attr, data, **kw)
        if len(v) > MAX_DESCRIPTOR:
            raise self.make_error("descriptor")
        if not DESCRIPTOR_RE.match(v):
            raise self.make_error("descriptor")
        return v


class Date(fields.String):
    """A calendar date as YYYY-MM-DD text (kept as text: Ed-Fi JSON carries it that way)."""

    default_error_messages = {"date": "Not a valid date (YYYY-MM-DD)."}

    def _deserialize(self, value, attr, data, **kw):
        v = super()._deserialize(value, attr, data, **kw)
        if not _valid_date(v):
            raise self.make_error("date")
        return v


class Int(fields.Integer):
    """An integer; strings and booleans are refused (Ed-Fi JSON ids are numbers)."""

    def __init__(self, **kw):
        super().__init__(strict=True, **kw)

    def _deserialize(self, value, attr, data, **kw):
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kw)


class Num(fields.Float):
    """A JSON number (int or float); strings and booleans are refused."""

    def _deserialize(self, value, attr, data, **kw):
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kw)


class Bool(fields.Boolean):
    """true / false only."""

    def _deserialize(self, value, attr, data, **kw):
        if not isinstance(value, bool):
            raise self.make_error("invalid")
        return value


def Ref(schema, **kw) -> fields.Nested:  # noqa: N802 - reads like a type in schema bodies
    return fields.Nested(schema, **kw)


def Many(schema, **kw) -> fields.List:  # noqa: N802
    return fields.List(fields.Nested(schema), **kw)


class EdFiSchema(Schema):
    """Base: unknown properties are errors (our output must not invent Ed-Fi properties)."""

    class Meta:
        unknown = "raise"


# --- marshmallow errors -> [(dotted.field, message)] --------------------------------------------

def flatten_errors(messages, prefix: str = "") -> Errors:
    out: Errors = []
    if isinstance(messages, dict):
        for k, v in messages.items():
            key = f"{prefix}.{k}" if prefix else str(k)
            out.extend(flatten_errors(v, key))
    elif isinstance(messages, list):
        for m in messages:
            if isinstance(m, (dict, list)):
                out.extend(flatten_errors(m, prefix))
            else:
                out.append((prefix or "$", str(m)))
    else:
        out.append((prefix or "$", str(messages)))
    return out


def marshmallow_validate(schema: Schema, record) -> Errors:
    try:
        schema.load(record)
    except ValidationError as e:
        return sorted(flatten_errors(e.messages))
    return []


# --- compiler ------------------------------------------------------------------------------------

Check = Callable[[object, str, Errors], None]
_MISSING = object()


def _str_check(mx, mn) -> Check:
    def check(v, path, errs):
        if type(v) is not str:
            errs.append((path, "Not a valid string."))
        elif (mx is not None and len(v) > mx) or len(v) < mn:
            errs.append((path, f"Length must be between {mn} and {mx}." if mx is not None else f"Shorter than minimum length {mn}."))
    return check


def _descriptor_check(v, path, errs):
    if type(v) is not str:
        errs.append((path, "Not a valid string."))
    elif v in _good_descriptors:
        return
    elif len(v) > MAX_DESCRIPTOR or not DESCRIPTOR_RE.match(v):
        errs.append((path, Descriptor.default_error_messages["descriptor"]))
    else:
        _remember(_good_descriptors, v)


def _date_check(v, path, errs):
    if type(v) is not str:
        errs.append((path, "Not a valid string."))
    elif not _valid_date(v):
        errs.append((path, Date.default_error_messages["date"]))


def _int_check(v, path, errs):
    if type(v) is not int:
        errs.append((path, "Not a valid integer."))


def _num_check(v, path, errs):
    t = type(v)
    if t is not int and t is not float:
        errs.append((path, "Not a valid number."))


def _bool_check(v, path, errs):
    if type(v) is not bool:
        errs.append((path, "Not a valid boolean."))


def _any_check(v, path, errs):
    return None


def _field_check(f: fields.Field) -> Check:
    if isinstance(f, Descriptor):
        return _descriptor_check
    if isinstance(f, Date):
        return _date_check
    if isinstance(f, Str):
        return _str_check(f.max_length, f.min_length)
    if isinstance(f, fields.String):
        return _str_check(None, 0)
    if isinstance(f, Int):
        return _int_check
    if isinstance(f, Num):
        return _num_check
    if isinstance(f, Bool):
        return _bool_check
    if isinstance(f, fields.Nested):
        return compile_schema(f.nested if isinstance(f.nested, type) else type(f.nested))
    if isinstance(f, fields.List):
        inner = _field_check(f.inner)

        def check_list(v, path, errs):
            if type(v) is not list:
                errs.append((path, "Not a valid list."))
                return
            for i, item in enumerate(v):
                inner(item, f"{path}.{i}", errs)
        return check_list
    if isinstance(f, fields.Dict):
        def check_dict(v, path, errs):
            if type(v) is not dict:
                errs.append((path, "Not a valid mapping type."))
        return check_dict
    return _any_check


_COMPILED: dict[type, Check] = {}


def compile_schema(schema_cls: type[Schema]) -> Check:
    """A function (obj, path, errs) applying schema_cls's rules; compiled once per class."""
    hit = _COMPILED.get(schema_cls)
    if hit is not None:
        return hit
    specs: list[tuple[str, bool, Check]] = []

    def check(obj, path, errs):
        if type(obj) is not dict:
            errs.append((path or "$", "Invalid input type."))
            return
        prefix = f"{path}." if path else ""
        for k in obj:
            if k not in allowed:
                errs.append((f"{prefix}{k}", MSG_UNKNOWN))
        for key, required, chk in specs:
            v = obj.get(key, _MISSING)
            if v is _MISSING:
                if required:
                    errs.append((prefix + key, MSG_REQUIRED))
            elif v is None:
                errs.append((prefix + key, MSG_NULL))
            else:
                chk(v, prefix + key, errs)

    _COMPILED[schema_cls] = check  # before recursing: tolerate self-reference
    for name, f in schema_cls._declared_fields.items():
        specs.append((f.data_key or name, f.required, _field_check(f)))
    allowed = frozenset(k for k, _, _ in specs)
    return check

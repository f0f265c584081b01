"""Scopes: SMART v1 (`system/Patient.read`) and v2 (`system/Patient.rs`, `system/*.cruds`,
`system/Observation.rs?category=...`) syntax, plus plain scopes such as the Ed-Fi vendor's `edfi`.

`covers(granted, wanted)`: holding `granted` allows what `wanted` names.
 - v1 `read` == v2 `rs`; v1 `write` == v2 `cud`; v1 `*` == `cruds`.
 - a wildcard resource (`*`) covers every resource type; the context (system/user/patient) must match.
 - a granted scope with query parameters (fine-grained) covers only the same parameters; a granted
   scope without parameters covers any parameterised form of itself.
 - anything else (not SMART syntax) matches exactly.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable

_SMART = re.compile(r"^(system|user|patient)/(\*|[A-Z][A-Za-z]{0,63})\.(read|write|\*|c?r?u?d?s?)(\?[^\s]*)?$")
_V1 = {"read": "rs", "write": "cud", "*": "cruds"}
_PLAIN = re.compile(r"^[A-Za-z0-9_.:/\-]{1,100}$")
MAX_SCOPES = 50


@dataclass(frozen=True)
class Smart:
    context: str
    resource: str
    perms: frozenset[str]
    params: str  # "" when none


def parse(scope: str) -> Smart | None:
    m = _SMART.match(scope)
    if not m:
        return None
    ctx, res, perms, params = m.groups()
    perms = _V1.get(perms, perms)
    if not perms:
        return None
    return Smart(ctx, res, frozenset(perms), params or "")


def valid(scope: str) -> bool:
    """Well-formed: SMART syntax, or a plain token (letters, digits, _ . : / -)."""
    return parse(scope) is not None or (bool(_PLAIN.match(scope)) and "/" not in scope)


def covers(granted: str, wanted: str) -> bool:
    if granted == wanted:
        return True
    g, w = parse(granted), parse(wanted)
    if g is None or w is None:
        return False
    if g.context != w.context:
        return False
    if g.resource != "*" and g.resource != w.resource:
        return False
    if not w.perms <= g.perms:
        return False
    return g.params == "" or g.params == w.params


def satisfies_any(granted: Iterable[str], wanted: Iterable[str]) -> bool:
    wanted = list(wanted)
    if not wanted:
        return True
    return any(covers(g, w) for g in granted for w in wanted)


def split(scope_param: str | None) -> list[str]:
    """The space-delimited `scope` parameter (RFC 6749 3.3), de-duplicated, order kept."""
    out: list[str] = []
    for s in (scope_param or "").split():
        if s not in out:
            out.append(s)
    return out


def grant(requested: Iterable[str], registered: Iterable[str]) -> list[str]:
    """Requested ∩ registered: each requested scope some registered scope covers (a client may ask
    for less than it holds, e.g. system/Patient.rs under a registered system/*.rs)."""
    registered = list(registered)
    return [r for r in requested if valid(r) and any(covers(g, r) for g in registered)]

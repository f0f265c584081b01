"""The words rules and requests may use, loaded from `vocabulary.yaml` beside the rules.

Categories come from `mappings.categories()` so the unit of disclosure has one definition.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

import mappings
import profiles

DEFAULT_RULES_DIR = profiles.HERE / "disclosure"


class PolicyDataError(ValueError):
    """The rule data cannot be loaded (bad YAML, missing key, unknown word)."""


@dataclass(frozen=True)
class RoleSpec:
    code: str
    column: str
    display: str
    # Relationship the role must prove before anything else; None = no relationship flag.
    rel_field: str | None
    rel_values: frozenset
    rel_youth_max_age: int | None
    rel_requires_limited: bool
    rel_appointment_order: str | None
    purposes: frozenset[str]


@dataclass(frozen=True)
class Vocabulary:
    categories: tuple[str, ...]
    roles: dict[str, RoleSpec]
    purposes: dict[str, str]               # code -> system
    jurisdictions: frozenset[str]
    school_relations: frozenset[str]
    service_types: frozenset[str]
    grantors: frozenset[str]
    consent_statuses: frozenset[str]
    forms: dict[str, dict]
    court_order_types: frozenset[str]
    court_order_statuses: frozenset[str]
    scope_aliases: dict[str, frozenset[str]]
    regime_flags: dict[str, str]           # youth flag -> category whose rules also apply
    elements: dict[str, str]               # element -> category
    never_released: frozenset[str]         # withheld whenever requested
    redactions: tuple[str, ...]
    obligations: tuple[str, ...]           # in display order
    default_rule: dict

    def category_elements(self, category: str) -> frozenset[str]:
        return frozenset(e for e, c in self.elements.items() if c == category)


def _need(data: dict, key: str, where: str):
    if key not in data:
        raise PolicyDataError(f"{where}: missing key {key!r}")
    return data[key]


def load_vocabulary(rules_dir: Path | str | None = None) -> Vocabulary:
    path = Path(rules_dir or DEFAULT_RULES_DIR) / "vocabulary.yaml"
    try:
        data = yaml.load(path.read_text(encoding="utf-8"), Loader=yaml.CSafeLoader)
    except (OSError, yaml.YAMLError) as e:
        raise PolicyDataError(f"{path}: {e}") from e
    if not isinstance(data, dict):
        raise PolicyDataError(f"{path}: expected a mapping")
    where = path.name
    roles = {}
    for code, spec in _need(data, "roles", where).items():
        rel = spec.get("relationship")
        roles[code] = RoleSpec(
            code=code,
            column=spec.get("column", code),
            display=spec.get("display", code),
            rel_field=rel["field"] if rel else None,
            rel_values=frozenset(rel["in"]) if rel else frozenset(),
            rel_youth_max_age=rel.get("youth_max_age") if rel else None,
            rel_requires_limited=bool(rel.get("requires_parent_ed_rights_limited")) if rel else False,
            rel_appointment_order=rel.get("appointment_order") if rel else None,
            purposes=frozenset(spec.get("purposes") or ()),
        )
    purposes = {code: _need(p, "system", f"{where} purposes.{code}")
                for code, p in _need(data, "purposes", where).items()}
    for role in roles.values():
        unknown = role.purposes - purposes.keys()
        if unknown:
            raise PolicyDataError(f"{where} roles.{role.code}: unknown purposes {sorted(unknown)}")
    categories = tuple(mappings.categories())
    aliases = {k: frozenset(v or ()) for k, v in (data.get("scope_aliases") or {}).items()}
    elements = dict(_need(data, "elements", where))
    for e, c in elements.items():
        if c not in categories:
            raise PolicyDataError(f"{where} elements.{e}: unknown category {c!r}")
    regime_flags = dict(data.get("regime_flags") or {})
    for flag, c in regime_flags.items():
        if c not in categories:
            raise PolicyDataError(f"{where} regime_flags.{flag}: unknown category {c!r}")
    default_rule = _need(data, "default_rule", where)
    for k in ("id", "citation", "description"):
        _need(default_rule, k, f"{where} default_rule")
    return Vocabulary(
        categories=categories,
        roles=roles,
        purposes=purposes,
        jurisdictions=frozenset(_need(data, "jurisdictions", where)),
        school_relations=frozenset(_need(data, "school_relations", where)),
        service_types=frozenset(_need(data, "service_types", where)),
        grantors=frozenset(_need(data, "grantors", where)),
        consent_statuses=frozenset(_need(data, "consent_statuses", where)),
        forms={k: dict(v or {}) for k, v in _need(data, "forms", where).items()},
        court_order_types=frozenset(_need(data, "court_order_types", where)),
        court_order_statuses=frozenset(_need(data, "court_order_statuses", where)),
        scope_aliases=aliases,
        regime_flags=regime_flags,
        elements=elements,
        never_released=frozenset(data.get("never_released") or ()),
        redactions=tuple(_need(data, "redactions", where)),
        obligations=tuple(_need(data, "obligations", where)),
        default_rule=dict(default_rule),
    )

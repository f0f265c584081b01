"""The rule set as Markdown tables, one per rule file, for docs/policy.md and for counsel."""
from __future__ import annotations

from itertools import groupby

from .engine import Policy

BEGIN = "<!-- BEGIN GENERATED RULE TABLE (hep policy table --write docs/policy.md) -->"
END = "<!-- END GENERATED RULE TABLE -->"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _words(values, everything) -> str:
    if values is None or set(values) == set(everything):
        return "any"
    return ", ".join(sorted(values))


def _age(r) -> str:
    if r.min_age == 0 and r.max_age >= 200:
        return "any"
    if r.max_age >= 200:
        return f"{r.min_age}+"
    return f"{r.min_age}–{r.max_age}"


def _conditions(r) -> str:
    parts = []
    if r.relationship == "absent":
        parts.append("relationship NOT verified")
    for key, vals in r.youth + r.requester:
        parts.append(f"{key} ∈ {{{', '.join(str(v).lower() for v in sorted(vals, key=str))}}}")
    if r.consent:
        opts = []
        for o in r.consent.options:
            s = " + ".join(o.grantors)
            lim = []
            if o.min_age:
                lim.append(f"{o.min_age}+")
            if o.max_age < 200:
                lim.append(f"≤{o.max_age}")
            lim += [f"{k}={str(v).lower()}" for k, v in o.when]
            opts.append(s + (f" ({', '.join(lim)})" if lim else ""))
        c = "consent from " + " or ".join(opts) + "; form " + "/".join(sorted(r.consent.forms))
        if r.consent.part2_compliant:
            c += "; all 42 CFR 2.31 elements"
        parts.append(c)
    if r.court_order_types:
        parts.append("court order in force: " + "/".join(sorted(r.court_order_types)))
    return "; ".join(parts) or "–"


def _outcome(r) -> str:
    out = r.effect
    withheld = list(r.redactions)
    if r.elements is not None:
        out += "; only elements: " + (", ".join(sorted(r.elements)) or "none")
    if withheld:
        out += "; withhold: " + ", ".join(withheld)
    if r.overrides:
        out += "; takes precedence over " + ", ".join(sorted(r.overrides))
    return out


def render(policy: Policy) -> str:
    v = policy.vocab
    lines = [BEGIN, "",
             f"{len(policy.rules)} rules. Stages: **gate** rules deny first; **basis** rules permit; "
             "**explain** rules name the reason when no basis applies; anything else falls to "
             f"`{v.default_rule['id']}`.", ""]
    for source, rules in groupby(policy.rules, key=lambda r: r.source):
        lines += [f"### {source}", "",
                  "| rule | stage | roles | categories | purposes | age | conditions | outcome | obligations | citation |",
                  "|---|---|---|---|---|---|---|---|---|---|"]
        for r in rules:
            lines.append("| " + " | ".join(_cell(x) for x in (
                f"`{r.id}` – {r.summary}", r.stage, _words(r.roles, v.roles),
                _words(r.categories, v.categories), _words(r.purposes, v.purposes), _age(r),
                _conditions(r), _outcome(r), ", ".join(r.obligations) or "–", r.citation)) + " |")
        lines.append("")
    d = v.default_rule
    lines += ["### default", "", f"`{d['id']}` – {' '.join(d['description'].split())} ({d['citation']})",
              "", END]
    return "\n".join(lines) + "\n"


def replace_generated(document: str, table: str) -> str:
    """Put `table` between the markers in `document` (appending markers if absent)."""
    if BEGIN in document and END in document:
        head = document[:document.index(BEGIN)]
        tail = document[document.index(END) + len(END):]
        return head + table.rstrip("\n") + tail
    return document.rstrip("\n") + "\n\n" + table


def generated_part(document: str) -> str | None:
    if BEGIN not in document or END not in document:
        return None
    return document[document.index(BEGIN):document.index(END) + len(END)] + "\n"

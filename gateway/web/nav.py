"""Navigation of the staff pages. Another capability adds its pages with one line, e.g.

    from gateway.web.nav import NAV, NavItem
    NAV.append(NavItem("web_analytics.indicators", "Indicators", ("analyst", "supervisor")))

and its templates `{% extends "web/base.html" %}` (blocks: title, main, head)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NavItem:
    endpoint: str
    label: str
    roles: tuple[str, ...]


NAV: list[NavItem] = [
    NavItem("web.caseload_page", "Caseload", ("social_worker", "supervisor")),
    NavItem("web.approvals", "Approvals", ("supervisor",)),
    NavItem("web.review", "Identity review", ("operator",)),
]


def items_for(role: str | None) -> list[NavItem]:
    return [n for n in NAV if role in n.roles]


# Where each role lands after signing in (first page of theirs in NAV; analysts until their pages exist)
def home_endpoint(role: str | None) -> str:
    items = items_for(role)
    return items[0].endpoint if items else "web.account"

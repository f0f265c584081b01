"""Staff web pages (server-rendered, mobile-first): sign-in, caseload, passport, identity review.

Registered through gateway.api.EXTRA_BLUEPRINTS as ("gateway.web", "bp"). Templates live in
templates/web/ (extend web/base.html), static files in static/ (served at /web/static/).
docs/web.md describes the pages, sessions, CSRF and how county SSO replaces local accounts.
"""
from __future__ import annotations

from flask import Blueprint

bp = Blueprint("web", __name__, template_folder="templates", static_folder="static", static_url_path="/web/static")

from . import views  # noqa: E402,F401  (routes register on bp)

"""Insights pages: county outcome indicators for analysts (de-identified, small cells suppressed) and
feed data quality for operators. Registered through gateway.api.EXTRA_BLUEPRINTS as
("gateway.web.insights", "bp"); templates in gateway/web/templates/insights/ (extending
web/base.html); docs/indicators.md defines every indicator and the suppression rule."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint

from ..nav import NAV, NavItem

bp = Blueprint("web_insights", __name__, template_folder=str(Path(__file__).resolve().parent.parent / "templates"),
               static_folder="static", static_url_path="/web/insights/static")

# analysts have no other page, so Indicators is where they land after signing in (nav.home_endpoint)
NAV.append(NavItem("web_insights.indicators", "Indicators", ("analyst", "supervisor")))
NAV.append(NavItem("web_insights.data_quality", "Data quality", ("operator",)))

from . import views  # noqa: E402,F401  (routes register on bp)

"""Routes of the insights pages.

/indicators (analyst, supervisor): the county's outcome indicators, one breakdown at a time
(?by=district|age|placement), each as a chart and the same numbers in a table, and a CSV per table.
Only the published, suppressed tables are ever rendered; views and downloads are audited as
aggregate (de-identified) access with no youth id.

/data-quality (operator): per feed counts, top problems, completeness, a trend of batches per day,
and /data-quality/batches/<id> with every problem of one batch.
"""
from __future__ import annotations

import csv
import io
import re
from datetime import timedelta

from flask import Response, abort, g, render_template, request, url_for

from adapters.base import defuse_csv_cell

from ...clock import today, utcnow
from ...store.engine import write_tx
from ..security import CLIENT_ID, engine, login_required, tenant
from ..views import CSP, register_error_pages
from . import bp, cache, charts, quality
from .compute import DIMENSIONS
from .publish import COMP, LT, MIN

ANALYSTS = ("analyst", "supervisor")
PURPOSE = "x-CW-ADMIN"      # program administration and evaluation (WIC 10850), not case management
BATCH_ID = re.compile(r"^[A-Za-z0-9-]{1,64}$")
PAGE = 500


@bp.after_request
def _headers(resp):
    if resp.mimetype == "text/html":
        resp.headers.setdefault("Content-Security-Policy", CSP)
        resp.headers.setdefault("X-Frame-Options", "DENY")
    resp.headers.setdefault("Cache-Control", "no-store")
    resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    return resp


register_error_pages(bp)


def _audit(action: str, entry: dict) -> None:
    """One audit row, no youth id: `access` says what kind of data the page showed."""
    from ...audit import append
    user = g.user
    entry = {**entry, "request": {"method": request.method, "path": request.path[:300],
                                  "request_id": g.get("request_id")},
             "staff": {"username": user.username, "role": user.role}}
    with write_tx(engine()) as conn:
        append(conn, tenant(), actor_id=user.username, actor_role=user.role, client_id=CLIENT_ID, youth_id=None,
               action=action, purpose=PURPOSE, outcome="permit", entry=entry)


# --- indicators -------------------------------------------------------------------------------------

def _dimension() -> str:
    by = request.args.get("by") or "district"
    if by not in dict(DIMENSIONS):
        abort(404, description="Breakdowns: district, age or placement.")
    return by


def _fmt(col: str, value, kind: str) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if col == "rate":
        return f"{value:.2f}" if kind == "per_year" else f"{value:.1f}%"
    return f"{value:,}"


@bp.get("/indicators")
@login_required(*ANALYSTS)
def indicators():
    by = _dimension()
    pub = cache.indicators(engine(), tenant(), today())
    sections = []
    for ind in pub["indicators"]:
        table = next(t for t in ind["tables"] if t["dimension"] == by)
        kind = ind["kind"]
        data = [(r["label"], r["cells"]["rate"]) for r in table["rows"] + [table["total"]]
                if isinstance(r["cells"]["rate"], (int, float))]
        chart = charts.hbars(data, chart_id=f"c-{ind['key']}", unit="%" if kind != "per_year" else "",
                             title=f"{ind['title']} by {table['title']}", top=100 if kind != "per_year" else None)
        rows = [{"label": r["label"], "cells": [_fmt(c, r["cells"][c], kind) for c, _ in ind["columns"]]}
                for r in table["rows"]]
        total = {"label": "Total", "cells": [_fmt(c, table["total"]["cells"][c], kind) for c, _ in ind["columns"]]}
        sections.append({**ind, "table": table, "chart": chart, "rows": rows, "total_row": total,
                         "withheld": any(v in (LT, COMP) for r in rows + [total] for v in r["cells"])})
    _audit("indicators-view", {"page": "indicators", "access": "aggregate", "deidentified": True,
                               "as_of": pub["as_of"], "breakdown": by, "min_cell": MIN})
    return render_template("insights/indicators.html", pub=pub, sections=sections, by=by, dimensions=DIMENSIONS,
                           LT=LT, COMP=COMP, MIN=MIN)


def csv_rows(ind: dict, table: dict) -> list[list[str]]:
    """The table as CSV rows: suppressed cells keep their marker ("<11" or "*"), text cells are defused."""
    head = ["Indicator", "Breakdown", "Group"] + [label for _, label in ind["columns"]]
    out = [head]
    for r in table["rows"] + [table["total"]]:
        cells = [r["cells"][c] for c, _ in ind["columns"]]
        out.append([defuse_csv_cell(ind["title"]), defuse_csv_cell(table["title"]), defuse_csv_cell(r["label"])]
                   + [defuse_csv_cell(v) if isinstance(v, str) else ("" if v is None else f"{v:g}") for v in cells])
    return out


@bp.get("/indicators/<key>/<dimension>.csv")
@login_required(*ANALYSTS)
def indicators_csv(key: str, dimension: str):
    pub = cache.indicators(engine(), tenant(), today())
    ind = next((i for i in pub["indicators"] if i["key"] == key), None)
    table = next((t for t in (ind or {}).get("tables", ()) if t["dimension"] == dimension), None)
    if table is None:
        abort(404, description="No such indicator table.")
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\r\n").writerows(csv_rows(ind, table))
    _audit("indicators-download", {"page": "indicators-csv", "access": "aggregate", "deidentified": True,
                                   "as_of": pub["as_of"], "indicator": key, "breakdown": dimension, "min_cell": MIN})
    name = f"hep-{key}-by-{dimension}-{pub['as_of']}.csv"
    return Response(buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


# --- data quality -----------------------------------------------------------------------------------

@bp.get("/data-quality")
@login_required("operator")
def data_quality():
    now, day = utcnow(), today()
    from .compute import district_label, reference
    with engine().connect() as conn:
        feeds = quality.feeds(conn, tenant(), now)
        top = quality.problems(conn, tenant(), now)
        _, lea_names = reference(conn, tenant())
        for f in feeds:
            f["district"] = district_label(int(f["lea"]), lea_names) if f["lea"] else "County-wide"
            f["problems"] = top.get(f["source"], [])
            f["batches"] = quality.batches_of(conn, tenant(), f["source"], limit=5)
        days = quality.trend(conn, tenant(), day)
        complete = quality.completeness(conn, tenant(), day)
    chart = charts.trend(days, chart_id="trend", title=f"Batches received per day, last {len(days)} days")
    _audit("data-quality-view", {"page": "data-quality", "access": "operations", "feeds": len(feeds)})
    return render_template("insights/data_quality.html", feeds=feeds, chart=chart, days=days, complete=complete,
                           window=quality.WINDOW_DAYS, since=(now - timedelta(days=quality.WINDOW_DAYS)).date())


@bp.get("/data-quality/batches/<batch_id>")
@login_required("operator")
def batch_page(batch_id: str):
    if not BATCH_ID.match(batch_id):
        abort(404, description="No batch with that id.")
    try:
        page = max(1, int(request.args.get("page") or 1))
    except ValueError:
        page = 1
    with engine().connect() as conn:
        b = quality.batch(conn, tenant(), batch_id)
        if b is None:
            abort(404, description="No batch with that id.")
        rows, total = quality.batch_problems(conn, tenant(), batch_id, offset=(page - 1) * PAGE, limit=PAGE)
    _audit("batch-problems-view", {"page": "batch", "access": "operations", "batch": batch_id, "problems": total})
    pages = max(1, (total + PAGE - 1) // PAGE)
    return render_template("insights/batch.html", b=b, problems=rows, total=total, page=page, pages=pages,
                           next_url=url_for("web_insights.batch_page", batch_id=batch_id, page=page + 1) if page < pages else None,
                           prev_url=url_for("web_insights.batch_page", batch_id=batch_id, page=page - 1) if page > 1 else None)

"""Charts of the insights pages, drawn like gateway.web.svg (same classes, viewBox scaling, role=img
with <title> and <desc>), with ids unique on the page. Long group names (districts) get horizontal
bars; the feed trend reuses svg.bar_chart."""
from __future__ import annotations

from markupsafe import Markup, escape

from .. import svg

W, ROW, LABEL_W, PAD = 340, 22, 150, 6


def _ids(markup: Markup, prefix: str) -> Markup:
    return Markup(str(markup).replace('"chart-t', f'"{prefix}-t').replace('chart-d"', f'{prefix}-d"')
                  .replace("chart-t chart-d", f"{prefix}-t {prefix}-d"))


def hbars(data: list[tuple[str, float]], *, chart_id: str, title: str, unit: str = "",
          top: float | None = None) -> Markup:
    """One horizontal bar per group with its value; `data` holds only published (unsuppressed) values."""
    if not data:
        return Markup("")
    top = top or svg._nice(max(v for _, v in data) or 1)
    h = PAD * 2 + ROW * len(data)
    plot = W - LABEL_W - 46
    fmt = (lambda v: f"{v:g}%") if unit == "%" else (lambda v: f"{v:g}")
    desc = "; ".join(f"{k}: {fmt(v)}" for k, v in data)
    parts = [f'<svg class="chart hbar" viewBox="0 0 {W} {h}" role="img" aria-labelledby="{chart_id}-t {chart_id}-d" '
             f'xmlns="http://www.w3.org/2000/svg"><title id="{chart_id}-t">{escape(title)}</title>'
             f'<desc id="{chart_id}-d">{escape(desc)}</desc>']
    for i, (label, v) in enumerate(data):
        y = PAD + i * ROW
        short = label if len(label) <= 26 else label[:24] + "…"
        w = plot * min(v, top) / top if top else 0
        parts.append(f'<text x="{LABEL_W - 4}" y="{y + 14}" class="axis" text-anchor="end">{escape(short)}</text>'
                     f'<rect x="{LABEL_W}" y="{y + 4}" width="{max(w, 0.5):.1f}" height="{ROW - 8}" class="bar"/>'
                     f'<text x="{LABEL_W + w + 3:.1f}" y="{y + 14}" class="val">{escape(fmt(v))}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def trend(days: list[tuple], *, chart_id: str, title: str) -> Markup:
    data = [(f"{d.day}", float(n)) for d, n in days]
    chart = svg.bar_chart(data, title=title, unit="batches")
    text = "; ".join(f"{d.isoformat()}: {n}" for d, n in days)
    chart = Markup(str(chart).split("<desc", 1)[0] + f'<desc id="chart-d">{escape(text)}</desc>'
                   + str(chart).split("</desc>", 1)[1])
    return _ids(chart, chart_id)

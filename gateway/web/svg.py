"""Small server-rendered SVG bar charts (no JavaScript): accessible (role=img, <title>, <desc>),
sized by viewBox so they scale to a phone's width."""
from __future__ import annotations

from markupsafe import Markup, escape

W, H, PAD_L, PAD_B, PAD_T = 340, 160, 30, 22, 14


def bar_chart(data: list[tuple[str, float]], *, title: str, unit: str = "", threshold: float | None = None,
              threshold_label: str = "") -> Markup:
    if not data:
        return Markup("")
    top = max([v for _, v in data] + ([threshold * 1.25] if threshold else []) + [1])
    top = _nice(top)
    plot_w, plot_h = W - PAD_L - 6, H - PAD_B - PAD_T
    step = plot_w / len(data)
    bw = max(4.0, step * 0.62)
    desc = "; ".join(f"{k}: {v:g}{unit if unit == '%' else ' ' + unit}" for k, v in data)
    parts = [f'<svg class="chart" viewBox="0 0 {W} {H}" role="img" aria-labelledby="chart-t chart-d" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<title id="chart-t">{escape(title)}</title><desc id="chart-d">{escape(desc)}</desc>']
    for frac in (0, 0.5, 1):
        y = PAD_T + plot_h * (1 - frac)
        parts.append(f'<line x1="{PAD_L}" x2="{W - 4}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{PAD_L - 4}" y="{y + 4:.1f}" class="axis" text-anchor="end">{top * frac:g}</text>')
    for i, (label, v) in enumerate(data):
        h = plot_h * (v / top) if top else 0
        x = PAD_L + i * step + (step - bw) / 2
        y = PAD_T + plot_h - h
        parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bw:.1f}" height="{max(h, 0):.1f}" class="bar"/>')
        if v:
            parts.append(f'<text x="{x + bw / 2:.1f}" y="{y - 3:.1f}" class="val" text-anchor="middle">{v:g}</text>')
        parts.append(f'<text x="{x + bw / 2:.1f}" y="{H - 6}" class="axis" text-anchor="middle">{escape(label)}</text>')
    if threshold is not None:
        y = PAD_T + plot_h * (1 - threshold / top)
        parts.append(f'<line x1="{PAD_L}" x2="{W - 4}" y1="{y:.1f}" y2="{y:.1f}" class="threshold"/>'
                     f'<text x="{W - 6}" y="{y - 3:.1f}" class="axis" text-anchor="end">{escape(threshold_label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _nice(v: float) -> float:
    for n in (1, 2, 4, 5, 8, 10, 15, 20, 25, 30, 40, 50, 60, 80, 100):
        if v <= n:
            return float(n)
    return float(int(v / 50 + 1) * 50)

"""Charts drawn on the server as inline SVG: no script, no CDN, nothing loaded.

Each chart is drawn from a report table (:class:`monitor.reports.tables.Table`) and sits
beside it, so the figures are always readable as text too. Colours are presentation
attributes (``fill=``), not ``style``, which the console's CSP forbids inline.
"""

from __future__ import annotations

from html import escape
from typing import Any

from markupsafe import Markup

from monitor.reports.tables import Table, cell

PALETTE = ("#2f6fb0", "#d9822b", "#3a9a5b", "#c23b3b", "#7a5cb8", "#8c8c8c", "#c9a227")
W, H, PAD_L, PAD_B, PAD_T = 640, 240, 44, 36, 12


def _num(v: Any) -> float:
    return float(v) if isinstance(v, int | float) and not isinstance(v, bool) else 0.0


def _nice_max(v: float) -> float:
    if v <= 0:
        return 1.0
    step = 10 ** len(str(int(v))) / 10
    for m in (1, 2, 2.5, 5, 10):
        if v <= m * step:
            return float(m * step)
    return v


def _legend(keys: list[str], headings: dict[str, str], y: float) -> list[str]:
    out, x = [], PAD_L
    for i, k in enumerate(keys):
        colour = PALETTE[i % len(PALETTE)]
        out.append(f'<rect x="{x}" y="{y}" width="10" height="10" fill="{colour}"/>')
        label = escape(headings.get(k, k))
        out.append(f'<text x="{x + 14}" y="{y + 9}" font-size="11">{label}</text>')
        x += 24 + 7 * len(headings.get(k, k))
    return out


def _svg(table: Table, height: float, parts: list[str]) -> Markup:
    title = escape(table.title)
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{table.chart}" '
        f'data-table="{escape(table.name)}" viewBox="0 0 {W} {height:.0f}" role="img" '
        f'aria-label="{title}"><title>{title}</title>'
    )
    return Markup(head + "".join(parts) + "</svg>")  # noqa: S704 - every value is escaped


def line(table: Table) -> Markup:
    keys, headings = table.drawn(), dict(table.columns)
    xs = [str(r[0]) for r in table.rows]
    top = _nice_max(max((_num(v) for k in keys for v in table.column(k)), default=0))
    plot_w, plot_h = W - PAD_L - 30, H - PAD_T - PAD_B
    step = plot_w / max(1, len(xs) - 1)
    parts = [
        f'<line x1="{PAD_L}" y1="{PAD_T + plot_h}" x2="{W - 30}" y2="{PAD_T + plot_h}" '
        'stroke="#999"/>',
        f'<text x="{PAD_L - 4}" y="{PAD_T + 4}" font-size="10" text-anchor="end">{top:g}</text>',
        f'<text x="{PAD_L - 4}" y="{PAD_T + plot_h}" font-size="10" text-anchor="end">0</text>',
    ]
    every = max(1, len(xs) // 8)
    for i, x in enumerate(xs):
        if i % every == 0:
            parts.append(
                f'<text x="{PAD_L + i * step:.1f}" y="{PAD_T + plot_h + 14}" font-size="10" '
                f'text-anchor="middle">{escape(x[5:] if len(x) == 10 else x)}</text>'
            )
    for n, k in enumerate(keys):
        colour = PALETTE[n % len(PALETTE)]
        pts = [
            (PAD_L + i * step, PAD_T + plot_h - _num(v) / top * plot_h)
            for i, v in enumerate(table.column(k))
        ]
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{path}"/>')
        for (px, py), label, v in zip(pts, xs, table.column(k), strict=True):
            tip = escape(f"{headings.get(k, k)} {label}: {cell(v)}")
            parts.append(
                f'<circle cx="{px:.1f}" cy="{py:.1f}" r="2.5" fill="{colour}"><title>{tip}</title>'
                "</circle>"
            )
    parts.extend(_legend(keys, headings, H - 12))
    return _svg(table, H, parts)


def bars(table: Table, *, stacked: bool = False) -> Markup:
    """Horizontal bars, one row per table row: grouped by series, or stacked."""
    keys, headings = table.drawn(), dict(table.columns)
    row_h = 18 if stacked else 10 * len(keys) + 8
    height = PAD_T + row_h * len(table.rows) + 30
    totals = [sum(_num(r[table.keys.index(k)]) for k in keys) for r in table.rows]
    each = [_num(v) for k in keys for v in table.column(k)]
    top = _nice_max(max(totals if stacked else each, default=0))
    left, plot_w = 150, W - 150 - 50
    parts = []
    for i, row in enumerate(table.rows):
        y = PAD_T + i * row_h
        label = escape(cell(row[0])[:24])
        parts.append(
            f'<text x="{left - 6}" y="{y + row_h / 2 + 3:.1f}" font-size="11" '
            f'text-anchor="end">{label}</text>'
        )
        x = float(left)
        for n, k in enumerate(keys):
            v = _num(row[table.keys.index(k)])
            w = max(0.0, v / top * plot_w)
            by = y + 2 if stacked else y + 2 + n * 10
            bh = row_h - 4 if stacked else 9
            tip = escape(f"{cell(row[0])}, {headings.get(k, k)}: {cell(row[table.keys.index(k)])}")
            parts.append(
                f'<rect x="{x:.1f}" y="{by:.1f}" width="{w:.1f}" height="{bh}" '
                f'fill="{PALETTE[n % len(PALETTE)]}"><title>{tip}</title></rect>'
            )
            if stacked:
                x += w
            else:
                parts.append(
                    f'<text x="{x + w + 4:.1f}" y="{by + 8:.1f}" font-size="9">'
                    f"{escape(cell(row[table.keys.index(k)]))}</text>"
                )
        if stacked:
            parts.append(
                f'<text x="{x + 4:.1f}" y="{y + row_h / 2 + 3:.1f}" font-size="10">'
                f"{totals[i]:g}</text>"
            )
    parts.extend(_legend(keys, headings, height - 16))
    return _svg(table, height, parts)


def chart(table: Table) -> Markup | None:
    """The chart for a table, or None when it has none (or nothing to draw)."""
    if not table.rows or table.chart == "none":
        return None
    if table.chart == "line":
        return line(table)
    return bars(table, stacked=table.chart == "stacked")

"""Server-side SVG bar charts: no JavaScript, no CDN, nothing inline that the
Content-Security-Policy forbids (colours are SVG presentation attributes and
classes from app.css, never ``style=""``).

A chart is a list of ``Bar`` drawn as horizontal bars, which leaves room for
long Chinese labels (department and group names).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

COLOURS = {"blue": "#1f4e8c", "green": "#2e9d4f", "yellow": "#e0a800", "red": "#d0312d",
           "grey": "#9aa3ad"}

LABEL_WIDTH = 200
VALUE_WIDTH = 70
ROW_HEIGHT = 26
BAR_HEIGHT = 16
TOP = 8
MAX_LABEL_CHARS = 14

_ids = itertools.count(1)


@dataclass(frozen=True)
class Bar:
    label: str
    value: float | None  # None: nothing to measure (drawn as "—", no bar)
    colour: str = "blue"


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def whole(value: float | None) -> str:
    return "—" if value is None else f"{value:g}"


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[:MAX_LABEL_CHARS - 1] + "…"


def bar_chart(bars: Sequence[Bar], *, title: str, max_value: float | None = None,
              fmt: Callable[[float | None], str] = whole, width: int = 680,
              css_class: str = "") -> Markup:
    """An accessible horizontal bar chart as inline SVG markup.

    ``max_value`` is the full-scale value (1.0 for rates); by default the
    largest bar. ``fmt`` writes each value at the end of its bar."""
    chart_id = f"chart-{next(_ids)}"
    values = [b.value for b in bars if b.value is not None]
    scale = max_value if max_value is not None else max(values, default=0)
    plot = width - LABEL_WIDTH - VALUE_WIDTH
    height = TOP * 2 + max(len(bars), 1) * ROW_HEIGHT
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart {escape(css_class)}" role="img" '
        f'aria-labelledby="{chart_id}" viewBox="0 0 {width} {height}" width="{width}" '
        f'height="{height}" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{chart_id}">{escape(title)}</title>',
        f'<line class="axis" x1="{LABEL_WIDTH}" y1="{TOP - 2}" x2="{LABEL_WIDTH}" '
        f'y2="{height - TOP + 2}" stroke="#c8cfd8" stroke-width="1"/>',
    ]
    if not bars:
        parts.append(f'<text class="empty" x="{LABEL_WIDTH + 8}" y="{TOP + 17}" '
                     f'font-size="12" fill="#6b7280">—</text>')
    for n, bar in enumerate(bars):
        y = TOP + n * ROW_HEIGHT
        length = 0.0
        if bar.value is not None and scale > 0:
            length = max(min(bar.value / scale, 1.0), 0.0) * plot
        colour = COLOURS.get(bar.colour, COLOURS["blue"])
        label = escape(bar.label)
        parts.append(
            f'<g class="bar-row"><title>{label}: {escape(fmt(bar.value))}</title>'
            f'<text class="label" x="{LABEL_WIDTH - 8}" y="{y + 17}" text-anchor="end" '
            f'font-size="12" fill="#1f2328">{escape(_short(bar.label))}</text>'
            f'<rect class="bar {escape(bar.colour)}" x="{LABEL_WIDTH}" y="{y + 5}" '
            f'width="{length:.1f}" height="{BAR_HEIGHT}" rx="2" fill="{colour}"/>'
            f'<text class="value" x="{LABEL_WIDTH + length + 6:.1f}" y="{y + 17}" '
            f'font-size="12" fill="#1f2328">{escape(fmt(bar.value))}</text></g>')
    parts.append("</svg>")
    return Markup("".join(parts))


def load_chart(days: Sequence, loads: Sequence[float], capacity: float, *, title: str,
               width: int = 680, height: int = 150, css_class: str = "") -> Markup:
    """The workload forecast of one scope as inline SVG: a bar per working
    day (the expected tasks at once), red where it exceeds ``capacity`` and
    marked with a triangle above, and the capacity as a dashed line. Each bar
    carries its own ``<title>``; the page shows the same figures as a table."""
    chart_id = f"chart-{next(_ids)}"
    left, bottom, top = 34, 18, 14
    plot_h = height - top - bottom
    scale = max([*loads, capacity, 1.0]) * 1.1
    step = (width - left - 4) / max(len(loads), 1)
    bar_w = max(step * 0.7, 2)

    def y(value: float) -> float:
        return top + plot_h - value / scale * plot_h

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart load-chart {escape(css_class)}" '
        f'role="img" aria-labelledby="{chart_id}" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" preserveAspectRatio="xMinYMin meet">',
        f'<title id="{chart_id}">{escape(title)}</title>',
        f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - 2}" '
        f'y2="{top + plot_h}" stroke="#c8cfd8" stroke-width="1"/>',
        f'<text x="{left - 4}" y="{y(scale / 1.1) + 4:.1f}" text-anchor="end" font-size="10" '
        f'fill="#4b5563">{escape(whole(round(scale / 1.1, 1)))}</text>',
    ]
    for n, (day, load) in enumerate(zip(days, loads, strict=True)):
        over = capacity > 0 and load > capacity
        x = left + n * step + (step - bar_w) / 2
        colour = COLOURS["red"] if over else COLOURS["blue"]
        parts.append(
            f'<g class="day{" over" if over else ""}" data-day="{day.isoformat()}">'
            f'<title>{escape(day.strftime("%m-%d"))}: {escape(whole(round(load, 1)))}</title>'
            f'<rect x="{x:.1f}" y="{y(load):.1f}" width="{bar_w:.1f}" '
            f'height="{max(top + plot_h - y(load), 0):.1f}" fill="{colour}"/>')
        if over:
            cx = x + bar_w / 2
            parts.append(f'<path d="M{cx - 4:.1f} {top - 2} L{cx + 4:.1f} {top - 2} '
                         f'L{cx:.1f} {top + 5}Z" fill="{COLOURS["red"]}"/>')
        parts.append("</g>")
        if n % 5 == 0:
            parts.append(f'<text x="{x:.1f}" y="{height - 4}" font-size="10" fill="#4b5563">'
                         f'{escape(day.strftime("%m-%d"))}</text>')
    if capacity > 0:
        parts.append(f'<line class="capacity" x1="{left}" y1="{y(capacity):.1f}" x2="{width - 2}" '
                     f'y2="{y(capacity):.1f}" stroke="#1f2328" stroke-width="1.5" '
                     f'stroke-dasharray="5 3"/>')
    parts.append("</svg>")
    return Markup("".join(parts))

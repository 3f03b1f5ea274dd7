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

"""A project's timeline (Gantt) as inline SVG, drawn on the server: no
JavaScript, nothing the Content-Security-Policy forbids (colours are SVG
presentation attributes, never ``style=""``).

Per item one row: the actual bar (release → closing, or → today while open)
above the predicted one (expected opening → expected closing), red when the
item is on the critical path. Above the items, two rows of milestone markers:
the planned dates (the promotion plan's or the agreement's, hollow) and the
predicted ones (filled; actual once reached); the planned dates also run down
the chart as dashed lines, and today is a red line. The picture is
``role="img"`` with a title; the page puts the same dates in a table beside it.
The SVG has its natural width and scrolls inside its own box on a phone; a
copy of its label column (hidden from screen readers, which read the chart's
own) stays pinned at the box's left edge, so the items keep their names while
the dates scroll under them. A milestone's label goes where it touches neither
another label nor a marker: right of its marker, below it, or left of it.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup, escape

LABEL_WIDTH = 170
ROW_HEIGHT = 28
AXIS_HEIGHT = 26
MARKER_ROW = 40
MIN_PLOT, MAX_PLOT = 560, 1400
PX_PER_DAY = 2.0
MAX_LABEL_CHARS = 11

COLOUR = {"actual": "#2e9d4f", "predicted": "#1f4e8c", "critical": "#d0312d", "planned": "#7a5b00",
          "today": "#d0312d", "grid": "#e3e8ee", "text": "#1f2328", "muted": "#5b6470"}

_ids = itertools.count(1)


@dataclass(frozen=True)
class Span:
    start: date
    end: date


@dataclass(frozen=True)
class Row:
    """One item: ``actual`` (None before its release), ``predicted`` (None
    once closed), ``critical``, ``provisional`` (its dates ran through an
    unpublished holiday year)."""

    code: str
    label: str
    actual: Span | None = None
    predicted: Span | None = None
    critical: bool = False
    provisional: bool = False


@dataclass(frozen=True)
class Marker:
    """A milestone on the timeline: ``kind`` ``planned``, ``predicted`` or
    ``reached`` (an actual date)."""

    code: str
    label: str
    day: date
    kind: str


def _text_width(text: str, size: float = 11) -> float:
    """About how wide ``text`` draws: a CJK character is a square, Latin about 0.6."""
    return sum(size if ord(c) >= 0x2E80 else size * 0.6 for c in text)


def _place_labels(spots: Sequence[tuple[float, float]], left: float, right: float
                  ) -> list[tuple[int, str]]:
    """Where each marker's label goes, as (line, side): line 0 beside the
    markers, 1 below them; side ``start`` (right of the marker) or ``end``
    (left of it). ``spots`` are (x, label width) in drawing order; a label
    keeps clear of every marker on line 0 and of the labels placed before it,
    and inside ``left``..``right``. When nothing is clear it goes below, right."""
    taken: list[list[tuple[float, float]]] = [[(x - 7, x + 7) for x, _ in spots], []]
    placed = []
    for x, w in spots:
        choice = (1, "start")
        for line, side in ((0, "start"), (1, "start"), (0, "end"), (1, "end")):
            a, b = (x + 9, x + 9 + w) if side == "start" else (x - 9 - w, x - 9)
            if a < left or b > right:
                continue
            if all(b + 1 <= lo or a - 1 >= hi for lo, hi in taken[line]):
                choice = (line, side)
                break
        line, side = choice
        a, b = (x + 9, x + 9 + w) if side == "start" else (x - 9 - w, x - 9)
        taken[line].append((a, b))
        placed.append(choice)
    return placed


def _short(label: str) -> str:
    return label if len(label) <= MAX_LABEL_CHARS else label[:MAX_LABEL_CHARS - 1] + "…"


def _months(first: date, last: date, step: int) -> list[date]:
    day, found = date(first.year, first.month, 1), []
    while day <= last:
        if day >= first:
            found.append(day)
        month = day.month - 1 + step
        day = date(day.year + month // 12, month % 12 + 1, 1)
    return found


def gantt(rows: Sequence[Row], markers: Sequence[Marker], *, today: date, title: str,
          labels: dict[str, str], label_width: int = LABEL_WIDTH,
          max_plot: float = MAX_PLOT) -> Markup:
    """The timeline as SVG markup. ``labels``: the words of the two marker
    rows and today's line (keys ``planned``, ``predicted``, ``today``); a
    timeline of milestones alone (the portal's) may be narrower."""
    days = [today]
    for r in rows:
        for span in (r.actual, r.predicted):
            if span:
                days += [span.start, span.end]
    days += [m.day for m in markers]
    first, last = min(days) - timedelta(days=7), max(days) + timedelta(days=14)
    span_days = (last - first).days
    plot = max(MIN_PLOT, min(max_plot, span_days * PX_PER_DAY))
    scale = plot / span_days
    width = round(label_width + plot + 12)
    top = AXIS_HEIGHT + 2 * MARKER_ROW
    height = top + max(len(rows), 1) * ROW_HEIGHT + 8

    def x(day: date) -> float:
        return label_width + (day - first).days * scale

    chart_id = f"gantt-{next(_ids)}"
    pinned: list[str] = []  # what the label column draws, again for the pinned copy
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="gantt" role="img" '
           f'aria-labelledby="{chart_id}" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}" data-first="{first}" data-last="{last}">',
           f'<title id="{chart_id}">{escape(title)}</title>']
    # The axis: a tick per month (per quarter on a long timeline).
    step = 1 if span_days <= 400 else 3
    for tick in _months(first, last, step):
        tx = x(tick)
        out.append(f'<line x1="{tx:.1f}" y1="{AXIS_HEIGHT - 6}" x2="{tx:.1f}" y2="{height - 4}" '
                   f'stroke="{COLOUR["grid"]}" stroke-width="1"/>'
                   f'<text x="{tx + 2:.1f}" y="14" font-size="11" fill="{COLOUR["muted"]}">'
                   f'{tick.year % 100:02d}-{tick.month:02d}</text>')
    # The two marker rows.
    for n, (kind, name) in enumerate((("planned", labels["planned"]),
                                      ("predicted", labels["predicted"]))):
        y = AXIS_HEIGHT + n * MARKER_ROW
        heading = (f'<text x="{label_width - 8}" y="{y + 17}" text-anchor="end" font-size="12" '
                   f'font-weight="bold" fill="{COLOUR["text"]}">{escape(name)}</text>')
        out.append(heading)
        pinned.append(heading)
        row = [m for m in sorted(markers, key=lambda m: m.day)
               if (m.kind == "planned") == (kind == "planned")]
        places = _place_labels([(x(m.day), _text_width(m.label)) for m in row],
                               label_width, width)
        for m, (line, side) in zip(row, places, strict=True):
            mx, my = x(m.day), y + 13
            tx = mx + 9 if side == "start" else mx - 9
            filled = COLOUR["planned"] if kind == "planned" else COLOUR["predicted"]
            fill = "#fff" if m.kind == "planned" else filled
            out.append(
                f'<g class="gantt-marker {m.kind}" data-milestone="{escape(m.code)}" '
                f'data-day="{m.day}"><title>{escape(m.label)} {m.day}</title>'
                f'<path d="M{mx:.1f} {my - 7} L{mx + 7:.1f} {my} L{mx:.1f} {my + 7} '
                f'L{mx - 7:.1f} {my} Z" fill="{fill}" stroke="{filled}" stroke-width="2"/>'
                f'<text x="{tx:.1f}" y="{my + 4 + 14 * line}" text-anchor="{side}" '
                f'font-size="11" fill="{COLOUR["text"]}">{escape(m.label)}</text></g>')
            if kind == "planned":
                out.append(f'<line class="gantt-plan-line" x1="{mx:.1f}" y1="{top}" x2="{mx:.1f}" '
                           f'y2="{height - 4}" stroke="{COLOUR["planned"]}" stroke-width="1" '
                           f'stroke-dasharray="4 3"/>')
    # The items.
    for n, r in enumerate(rows):
        y = top + n * ROW_HEIGHT
        label = escape(_short(r.label)) + (" *" if r.provisional else "")
        bold = ' font-weight="bold"' if r.critical else ""
        name = (f'<text x="{label_width - 8}" y="{y + 18}" text-anchor="end" font-size="12" '
                f'fill="{COLOUR["critical"] if r.critical else COLOUR["text"]}"'
                f'{bold}>{label}</text>')
        out.append(f'<g class="gantt-row{" critical" if r.critical else ""}" '
                   f'data-item="{escape(r.code)}"><title>{escape(r.label)}</title>{name}')
        pinned.append(f'<g><title>{escape(r.label)}</title>{name}</g>')
        if r.actual:
            out.append(_bar("actual", r.actual, x, y + 4, 7, COLOUR["actual"]))
        if r.predicted:
            out.append(_bar("predicted", r.predicted, x, y + 13, 11,
                            COLOUR["critical"] if r.critical else COLOUR["predicted"]))
        out.append("</g>")
    tx = x(today)
    out.append(f'<g class="gantt-today" data-day="{today}"><line x1="{tx:.1f}" y1="{AXIS_HEIGHT - 4}" '
               f'x2="{tx:.1f}" y2="{height - 2}" stroke="{COLOUR["today"]}" stroke-width="2"/>'
               f'<text x="{tx + 3:.1f}" y="{AXIS_HEIGHT - 2}" font-size="11" '
               f'fill="{COLOUR["today"]}">{escape(labels["today"])}</text></g>')
    out.append("</svg>")
    # The label column again, pinned by the page's CSS over the chart's own
    # (same size, same place, an opaque ground): the names stay while it scrolls.
    column = (f'<svg xmlns="http://www.w3.org/2000/svg" class="gantt-labels" aria-hidden="true" '
              f'focusable="false" viewBox="0 0 {label_width} {height}" width="{label_width}" '
              f'height="{height}"><rect width="{label_width}" height="{height}" fill="#fff"/>'
              + "".join(pinned) + "</svg>")
    return Markup(column + "".join(out))


def _bar(kind: str, span: Span, x, y: float, h: int, colour: str) -> str:
    left, right = x(span.start), x(span.end + timedelta(days=1))
    return (f'<rect class="gantt-{kind}" data-start="{span.start}" data-end="{span.end}" '
            f'x="{left:.1f}" y="{y}" width="{max(right - left, 2):.1f}" height="{h}" rx="2" '
            f'fill="{colour}"/>')

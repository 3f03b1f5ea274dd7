"""Pictures of a project's progress, drawn on the server as SVG geometry.

- ``dependency_graph``: the items laid out in columns by dependency depth (an
  item stands one column right of its latest prerequisite), arrows for
  ``requires``, each box coloured by state (CSS classes ``st-<state>``) with
  the item's name, department and due date; each node also carries what the
  page lists as the picture's text equivalent (its prerequisites by name).
- ``progress_bar``: one segment per state, as a share of all items.

Templates only place what is computed here: no style attributes (the CSP
forbids them), colours come from app.css.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from flask_babel import gettext as _

from definitions import Definition
from web.support import labels
from web.support.present import TaskRow
from workflow.core.portal import Progress

# Narrow boxes (a name on up to three lines) and narrow gaps: the zone's ten
# columns of dependency come to about 1,500 units, which the page scales to its
# width (app.css: the picture always fits its container, never cut off), so at
# 1366 px the names still read at about 10 px.
BOX_W, BOX_H = 128, 80
GAP_X, GAP_Y = 26, 10
PAD = 10
LINE_UNITS = 9.5  # width of a name line, in CJK characters (12px)
NAME_LINES = 3
DEPT_UNITS = 10.8  # the department line (10.5px)


@dataclass(frozen=True)
class Node:
    code: str
    task_id: int
    state: str
    light: str | None
    x: int
    y: int
    lines: tuple[str, ...]  # the name, wrapped to at most NAME_LINES lines
    title: str  # full name, for the tooltip
    department: str
    due: str  # the due date or the closing date, as shown
    department_name: str = ""  # in full, for the text equivalent
    after: tuple[str, ...] = ()  # the names of its prerequisites, for the text equivalent


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    path: str  # SVG path data
    satisfied: bool  # the prerequisite is closed


@dataclass(frozen=True)
class Graph:
    width: int
    height: int
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    box_w: int = BOX_W
    box_h: int = BOX_H


def layers(requires: dict[str, tuple[str, ...]], order: list[str]) -> list[list[str]]:
    """Columns by dependency depth; within a column, items sit near the mean
    row of their prerequisites (fewer crossing arrows), then in definition order."""
    depth: dict[str, int] = {}

    def depth_of(code: str, trail: tuple[str, ...] = ()) -> int:
        if code not in depth:
            parents = [r for r in requires.get(code, ()) if r in requires and r not in trail]
            depth[code] = 1 + max((depth_of(r, trail + (code,)) for r in parents), default=-1)
        return depth[code]

    columns: list[list[str]] = []
    for code in order:
        d = depth_of(code)
        while len(columns) <= d:
            columns.append([])
        columns[d].append(code)
    row: dict[str, float] = {}

    def weight(code: str) -> tuple[float, int]:
        parents = [row[r] for r in requires.get(code, ()) if r in row]
        return (sum(parents) / len(parents) if parents else -1.0, order.index(code))

    for column in columns:
        column.sort(key=weight)
        for n, code in enumerate(column):
            row[code] = n - (len(column) - 1) / 2
    return columns


def _width(text: str) -> float:
    return sum(1.0 if ord(ch) > 0x2E80 else 0.55 for ch in text)


def wrap(text: str, units: float = LINE_UNITS, lines: int = 2) -> tuple[str, ...]:
    """Break ``text`` into at most ``lines`` lines of about ``units`` CJK
    characters (Latin letters count about half; Latin words are not split unless
    longer than a line); an overlong last line ends in …."""
    tokens = re.findall(r"[\u2e80-\U0010ffff]|[^\s\u2e80-\U0010ffff]+\s*|\s+", text)
    out, current = [], ""
    for token in tokens:
        while _width(token.rstrip()) > units:  # a word longer than a line
            room = units - _width(current)
            cut = max(int(room / 0.55), 1) if current else int(units / 0.55)
            out.append(current + token[:cut])
            current, token = "", token[cut:]
        if current and _width(current + token.rstrip()) > units:
            out.append(current.rstrip())
            current = ""
        current += token
    out.append(current.rstrip())
    out = [line for line in out if line] or [""]
    if len(out) > lines:
        out = out[:lines]
        last = out[-1]
        while last and _width(last + "…") > units:
            last = last[:-1]
        out[-1] = last.rstrip() + "…"
    return tuple(out)


def _due_text(row: TaskRow, today: date) -> str:
    task = row.task
    if task.state in ("done", "covered", "terminated"):
        day = task.closed_on
    else:
        day = task.due_on
    if day is None:
        return labels.state_label(task.state)
    shown = day.strftime("%m-%d") if day.year == today.year else day.isoformat()
    if task.state in ("done", "covered", "terminated"):
        return f"{labels.state_label(task.state)} · {shown}"
    deadline = _("%(day)s 截止", day=shown)
    return f"{labels.state_label(task.state)} · {deadline}"


def dependency_graph(definition: Definition, rows: list[TaskRow], today: date) -> Graph:
    by_code = {r.task.item_code: r for r in rows}
    order = [code for code in definition.items if code in by_code]
    order += sorted(code for code in by_code if code not in definition.items)
    requires = {code: tuple(r for r in definition.items[code].requires if r in by_code)
                if code in definition.items else () for code in order}
    columns = layers(requires, order)
    tallest = max((len(c) for c in columns), default=0)
    height = 2 * PAD + tallest * BOX_H + max(tallest - 1, 0) * GAP_Y
    width = 2 * PAD + len(columns) * BOX_W + max(len(columns) - 1, 0) * GAP_X
    nodes: dict[str, Node] = {}
    for col, column in enumerate(columns):
        top = PAD + (tallest - len(column)) * (BOX_H + GAP_Y) // 2
        for n, code in enumerate(column):
            row = by_code[code]
            nodes[code] = Node(
                code=code, task_id=row.task.id, state=row.task.state, light=row.light,
                x=PAD + col * (BOX_W + GAP_X), y=top + n * (BOX_H + GAP_Y),
                lines=wrap(row.item_name, LINE_UNITS, NAME_LINES), title=row.item_name,
                department=wrap(row.department, DEPT_UNITS, 1)[0],
                due=_due_text(row, today), department_name=row.department,
                after=tuple(by_code[r].item_name for r in requires[code]))
    edges = []
    for code in order:
        for parent in requires[code]:
            a, b = nodes[parent], nodes[code]
            x1, y1 = a.x + BOX_W, a.y + BOX_H // 2
            x2, y2 = b.x - 4, b.y + BOX_H // 2
            bend = max((x2 - x1) // 2, 12)
            edges.append(Edge(source=parent, target=code,
                              path=f"M{x1},{y1} C{x1 + bend},{y1} {x2 - bend},{y2} {x2},{y2}",
                              satisfied=by_code[parent].task.state in ("done", "covered")))
    return Graph(width=width, height=height, nodes=tuple(nodes[c] for c in order),
                 edges=tuple(edges))


@dataclass(frozen=True)
class Segment:
    state: str
    count: int
    x: float  # percent of the bar
    width: float


def progress_bar(progress: Progress) -> list[Segment]:
    """One segment per state present, in ``PROGRESS_ORDER``, widths in percent."""
    segments, x = [], 0.0
    for state, count in progress.by_state:
        width = 100 * count / progress.total
        segments.append(Segment(state=state, count=count, x=round(x, 3), width=round(width, 3)))
        x += width
    return segments

"""Keyset pagination: every list a user waits on is read one page at a time,
in the database, on an index.

A list has an *order*: one or more *segments* read one after the other (the
red items, then the yellow ones, then the rest), each ordered by its own
*keyset* — sort keys ending with the row's unique id, so the order is total
and a page boundary is exact. A page is found by comparing the keys with the
last row of the page before (``WHERE (due_on, id) > (:due, :id)``), never by
an OFFSET, so every page costs the same however deep the user reads, and rows
inserted meanwhile never shift or repeat what is shown.

A segment may have *branches*: alternatives that each match one index range
(one per industry group, one per lifecycle stage). Each branch is read in index
order with its own LIMIT and the database merges them (UNION ALL), because no
index serves ``group_id IN (a, b) ORDER BY due_on`` in order.

Cursors travel in URLs: an opaque, URL-safe text naming the order, the
direction (after or before), the segment and the key values of the boundary
row. A cursor that does not parse, or belongs to another order, is refused as
bad input; its values are typed and range-checked before they reach SQL.

Totals are counted only up to ``COUNT_CAP`` (``count_upto``): "more than
1,000" costs a millisecond, an exact count of a million rows does not (the
exact figures of the zone come from the rollups, ``workflow.core.rollups``).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar

from sqlalchemy import ColumnElement, Select, and_, func, literal_column, or_, select, true, union_all
from sqlalchemy.orm import Session

from workflow.kernel import validate
from workflow.kernel.errors import ValidationError

DEFAULT_LIMIT = 50
MAX_LIMIT = 200
COUNT_CAP = 1_000

# Bounds of the values a cursor may carry (they end up as bound parameters).
_INT_MIN, _INT_MAX = -(2**63), 2**63 - 1
_TEXT_MAX = 400
_CURSOR_MAX = 2000

T = TypeVar("T")


class BadCursor(ValidationError):
    """A page link that does not belong to this list (edited, truncated or stale)."""

    def __init__(self, detail: str) -> None:
        super().__init__("This page link is not valid for the list; start again from the first page.",
                         field="cursor", detail=detail)


# -- keys and orders ------------------------------------------------------------------


@dataclass(frozen=True)
class Key:
    """One sort key: a non-NULL column expression, the Python type of its
    values (``int``, ``str``, ``date``, ``datetime`` or ``bool``), and its direction."""

    column: Any
    kind: type
    descending: bool = False

    def parse(self, value: Any) -> Any:
        """A cursor value as this key's type; ``BadCursor`` when it is not one."""
        kind = self.kind
        if kind is bool:
            if isinstance(value, bool):
                return value
        elif kind is int:
            if isinstance(value, int) and not isinstance(value, bool) and _INT_MIN <= value <= _INT_MAX:
                return value
        elif kind is str:
            if isinstance(value, str) and len(value) <= _TEXT_MAX and validate.typeable(value):
                return value
        elif kind is date:
            if isinstance(value, str) and len(value) == 10:
                try:
                    return date.fromisoformat(value)
                except ValueError:
                    pass
        elif kind is datetime:
            if isinstance(value, str) and len(value) <= 40:
                try:
                    moment = datetime.fromisoformat(value)
                except ValueError:
                    moment = None
                if moment is not None:
                    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
        raise BadCursor(f"bad {kind.__name__} value {value!r:.60}")

    @staticmethod
    def dump(value: Any) -> Any:
        if isinstance(value, datetime):
            moment = value if value.tzinfo else value.replace(tzinfo=UTC)
            return moment.astimezone(UTC).isoformat()
        if isinstance(value, date):
            return value.isoformat()
        return value


@dataclass(frozen=True)
class Keyset:
    """Sort keys of one segment; the last one is the row's unique id."""

    keys: tuple[Key, ...]

    def __init__(self, *keys: Key) -> None:
        if not keys:
            raise ValueError("a keyset needs at least the id")
        object.__setattr__(self, "keys", tuple(keys))

    def ordering(self, backward: bool = False) -> list:
        return [k.column.desc() if k.descending != backward else k.column.asc() for k in self.keys]

    def beyond(self, values: Sequence[Any], backward: bool = False) -> ColumnElement[bool]:
        """Rows after ``values`` in this order (before them when ``backward``).

        Written so that the first key's range is visible to the planner:
        ``k1 >= v1 AND (k1 > v1 OR (k2 >= v2 AND (k2 > v2 OR … kn > vn)))``."""
        clause = None
        for key, value in reversed(list(zip(self.keys, values, strict=True))):
            up = key.descending == backward
            strict = key.column > value if up else key.column < value
            if clause is None:
                clause = strict
            else:
                loose = key.column >= value if up else key.column <= value
                clause = and_(loose, or_(strict, clause))
        return clause


@dataclass(frozen=True)
class Segment:
    """A stretch of the list: the rows matching ``where`` (and one of
    ``branches``, when there are any), in ``keyset`` order."""

    keyset: Keyset
    where: tuple[Any, ...] = ()
    branches: tuple[Any, ...] = ()


@dataclass(frozen=True)
class Order:
    """A named order: its segments, read one after the other. The name goes
    into cursors, so a cursor of one order is refused by another."""

    name: str
    segments: tuple[Segment, ...]

    @classmethod
    def by(cls, name: str, *keys: Key, where: tuple = (), branches: tuple = ()) -> Order:
        return cls(name, (Segment(Keyset(*keys), tuple(where), tuple(branches)),))


# -- cursors ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Cursor:
    order: str
    segment: int
    values: tuple[Any, ...]
    backward: bool = False

    def encode(self) -> str:
        body = [self.order, "b" if self.backward else "a", self.segment,
                *(Key.dump(v) for v in self.values)]
        raw = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, text: str | None, order: Order) -> Cursor | None:
        """The cursor in ``text`` for ``order``; ``None`` for an empty text."""
        if text is None or not text.strip():
            return None
        text = text.strip()
        if len(text) > _CURSOR_MAX:
            raise BadCursor("too long")
        try:
            raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
            body = json.loads(raw.decode())
        except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
            raise BadCursor("not a cursor") from None
        if not isinstance(body, list) or len(body) < 3:
            raise BadCursor("not a cursor")
        name, way, segment, *values = body
        if name != order.name:
            raise BadCursor(f"cursor of another list ({name!r:.40})")
        if way not in ("a", "b") or not isinstance(segment, int) or isinstance(segment, bool) \
                or not 0 <= segment < len(order.segments):
            raise BadCursor("bad direction or segment")
        keys = order.segments[segment].keyset.keys
        if len(values) != len(keys):
            raise BadCursor("wrong number of values")
        return cls(name, segment, tuple(k.parse(v) for k, v in zip(keys, values, strict=True)),
                   backward=way == "b")


# -- pages --------------------------------------------------------------------------------


@dataclass
class Page(Generic[T]):
    """One page of a list: its rows and the cursors of the pages either side
    (``None`` at either end). ``first`` says whether this is the first page."""

    rows: list[T]
    limit: int
    next: str | None = None
    prev: str | None = None
    first: bool = True
    extras: dict[str, Any] = field(default_factory=dict)

    def __iter__(self):
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)

    def __bool__(self) -> bool:
        return bool(self.rows)


def check_limit(limit: int | None) -> int:
    if limit is None:
        return DEFAULT_LIMIT
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIMIT:
        raise ValidationError("A page holds between 1 and {limit} rows.", field="limit",
                              limit=MAX_LIMIT)
    return limit


def fetch(session: Session, query: Select, order: Order, *, cursor: str | Cursor | None = None,
          limit: int | None = None, options: Sequence[Any] = (),
          scalars: bool | None = None) -> Page:
    """The page of ``query`` after (or before) ``cursor`` in ``order``.

    ``query`` selects what a row shows (an entity, or columns) with the list's
    filters; ``options`` are loader options for the rows (applied to the
    statement that loads them, not to the branch scans). Rows are entities
    when ``query`` selects one entity (``scalars``), else ``Row`` objects."""
    if not isinstance(cursor, Cursor):
        cursor = Cursor.decode(cursor, order)
    if scalars is None:
        scalars = len(query.column_descriptions) == 1
    return _fetch(session, query, order, cursor, check_limit(limit), options, scalars)


def _fetch(session: Session, query: Select, order: Order, cursor: Cursor | None, limit: int,
           options: Sequence[Any], scalars: bool) -> Page:
    if cursor is not None and cursor.backward:
        found = _collect(session, query, order, cursor, limit, options, backward=True)
        if len(found) <= limit:  # reached the start: show a full first page instead
            return _fetch(session, query, order, None, limit, options, scalars)
        found = list(reversed(found[:limit]))
        return _page(order, found, limit, scalars, more_after=True, more_before=True)
    found = _collect(session, query, order, cursor, limit, options, backward=False)
    return _page(order, found[:limit], limit, scalars, more_after=len(found) > limit,
                 more_before=cursor is not None)


def _page(order: Order, found: list, limit: int, scalars: bool, *, more_after: bool,
          more_before: bool) -> Page:
    rows = [row[0] if scalars else row for row, _, _ in found]
    page = Page(rows=rows, limit=limit, first=not more_before)
    if found and more_after:
        _, segment, values = found[-1]
        page.next = Cursor(order.name, segment, values).encode()
    if found and more_before:
        _, segment, values = found[0]
        page.prev = Cursor(order.name, segment, values, backward=True).encode()
    return page


def _collect(session: Session, query: Select, order: Order, cursor: Cursor | None, limit: int,
             options: Sequence[Any], *, backward: bool) -> list[tuple[Any, int, tuple]]:
    """Up to ``limit + 1`` rows from the cursor on, crossing into the
    following segments (preceding ones when ``backward``) as needed."""
    wanted = limit + 1
    found: list[tuple[Any, int, tuple]] = []
    start = cursor.segment if cursor is not None else (len(order.segments) - 1 if backward else 0)
    indexes = range(start, -1, -1) if backward else range(start, len(order.segments))
    for n in indexes:
        values = cursor.values if cursor is not None and n == cursor.segment else None
        rows = _segment_rows(session, query, order.segments[n], values, wanted - len(found),
                             options, backward)
        found.extend((payload, n, keys) for payload, keys in rows)
        if len(found) >= wanted:
            break
    return found


def _segment_rows(session: Session, query: Select, segment: Segment, values: tuple | None,
                  wanted: int, options: Sequence[Any], backward: bool) -> list[tuple[Any, tuple]]:
    """Rows of one segment as (row, key values); the key columns ride along as
    ``_k0`` … ``_kN`` at the end of each row."""
    keyset = segment.keyset
    width = len(keyset.keys)
    where = list(segment.where)
    if values is not None:
        where.append(keyset.beyond(values, backward))
    if len(segment.branches) <= 1:
        statement = query.where(*where, *segment.branches)
        keys = [k.column for k in keyset.keys]
        ordering = keyset.ordering(backward)
    else:
        labels = [k.column.label(f"k{n}") for n, k in enumerate(keyset.keys)]
        scans = [query.with_only_columns(*labels, maintain_column_froms=True)
                 .where(*where, branch).order_by(None).order_by(*keyset.ordering(backward))
                 .limit(wanted).subquery().select()
                 for branch in segment.branches]
        merged = union_all(*scans).subquery("page_keys")
        keys = [merged.c[f"k{n}"] for n in range(width)]
        statement = query.join(merged, keyset.keys[-1].column == keys[-1])
        ordering = Keyset(*(Key(c, k.kind, k.descending)
                            for c, k in zip(keys, keyset.keys, strict=True))).ordering(backward)
    statement = (statement.add_columns(*(c.label(f"_k{n}") for n, c in enumerate(keys)))
                 .order_by(None).order_by(*ordering).limit(wanted).options(*options))
    return [(row, tuple(row[-width:])) for row in session.execute(statement).all()]


# -- counts -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Count:
    """A count up to a cap: ``value`` exact when ``exact``, else "more than ``value``"."""

    value: int
    exact: bool

    def __int__(self) -> int:
        return self.value

    def __bool__(self) -> bool:
        return self.value > 0

    def __str__(self) -> str:
        return f"{self.value:,}" if self.exact else f"{self.value:,}+"


def count_upto(session: Session, query: Select | Sequence[Select],
               cap: int = COUNT_CAP) -> Count:
    """How many rows ``query`` returns, counting no further than ``cap``: the
    database stops reading after ``cap + 1`` rows. A list of queries counts
    their sum (branches: one index range each, e.g. one per group)."""
    return counts_upto(session, {"n": query}, cap)["n"]


def _capped(query: Select, cap: int) -> Select:
    """``count(*)`` of the first ``cap + 1`` rows. A query may keep an ORDER
    BY to steer the planner to an ordered index scan that stops early (a
    bitmap scan reads its whole index range before the LIMIT applies, and a
    sequential scan stops only where the matching rows happen to lie)."""
    inner = (query.with_only_columns(true().label("one"), maintain_column_froms=True)
             .limit(cap + 1).subquery())
    return select(func.count()).select_from(inner)


def counts_upto(session: Session, queries: dict[str, Select | Sequence[Select]],
                cap: int = COUNT_CAP) -> dict[str, Count]:
    """Several capped counts in one round trip (a scalar subquery each; a list
    of queries is the sum of theirs)."""
    if not queries:
        return {}
    columns = []
    for name, query in queries.items():
        parts = [query] if isinstance(query, Select) else list(query)
        if not parts:
            columns.append(literal_column("0").label(name))
            continue
        total = _capped(parts[0], cap).scalar_subquery()
        for part in parts[1:]:
            total = total + _capped(part, cap).scalar_subquery()
        columns.append(total.label(name))
    row = session.execute(select(*columns)).one()
    return {name: Count(min(row[n] or 0, cap), (row[n] or 0) <= cap)
            for n, name in enumerate(queries)}


def pages_of(session: Session, query: Select, order: Order, *, batch: int = 500,
             options: Sequence[Any] = (), scalars: bool | None = None, end_reads: bool = False):
    """Every row of ``query`` in ``order``, read ``batch`` rows at a time (for
    exports that must not hold a whole list in memory: the session's identity
    map keeps only weak references to unchanged objects, so a read batch is
    let go). ``end_reads``: the reader (which wrote nothing) ends its
    transaction as soon as a batch is read, so a long export holds no
    snapshot, and on SQLite no lock, while it writes out the rows; the next
    batch continues from the last row read. It commits rather than rolls back:
    with the engine's sessions (``expire_on_commit=False``) the rows just read
    stay loaded, where a rollback would expire them."""
    if scalars is None:
        scalars = len(query.column_descriptions) == 1
    cursor = None
    while True:
        page = _fetch(session, query, order, cursor, batch, options, scalars)
        if end_reads:
            session.commit()
        yield from page.rows
        if page.next is None:
            return
        cursor = Cursor.decode(page.next, order)

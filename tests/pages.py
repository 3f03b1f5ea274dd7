"""Helpers of the tests of paged lists: walking a list's pages, and reading
the plan of the statement a list sends."""

from __future__ import annotations

from sqlalchemy import event, text


def walk(fetch, limit: int) -> list:
    """Every page of a list, from the first, following the ``next`` cursors:
    ``fetch(cursor=..., limit=...)`` returns a ``workflow.kernel.paging.Page``."""
    pages, cursor = [], None
    while True:
        page = fetch(cursor=cursor, limit=limit)
        pages.append(page)
        if page.next is None:
            return pages
        cursor = page.next


def first_select(session, fn, table: str | None = None) -> tuple[str, object]:
    """The first SELECT ``fn`` sends (that reads ``table``, when given: not,
    say, the user's groups read on the way), with its parameters."""
    seen = []

    def listen(conn, cursor, statement, params, context, executemany):
        if statement.lstrip().upper().startswith("SELECT") and (
                table is None or f"FROM {table}" in statement):
            seen.append((statement, params))

    engine = session.get_bind()
    engine = getattr(engine, "engine", engine)
    event.listen(engine, "before_cursor_execute", listen)
    try:
        fn()
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    return seen[0]


def plan(session, statement: str, params, *, no_sort: bool = False) -> str:
    """The plan of ``statement``. A test database is tiny: on PostgreSQL
    sequential scans are turned off (and sorts too with ``no_sort``), so the
    plan shows which index can serve the list (in its order)."""
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        return "\n".join(r[-1] for r in connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + statement, params))
    connection.execute(text("SET LOCAL enable_seqscan = off"))
    if no_sort:
        connection.execute(text("SET LOCAL enable_sort = off"))
    return "\n".join(r[0] for r in connection.exec_driver_sql("EXPLAIN " + statement, params))

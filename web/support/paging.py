"""Paged lists on the pages: the page arguments of a request, and the links
to the pages either side (the ``pager`` macro of ``common/macros.html``).

A list's page is chosen by an opaque ``cursor`` argument (``workflow.kernel.paging``)
and its size by ``limit`` (1–200, 50 by default); a page with several lists
gives each its own cursor argument. Every other argument of the request (the
filters, the sort, the tab) is kept in the links, so paging never loses them.
"""

from __future__ import annotations

from functools import cache

from flask import Flask, request, url_for
from pydantic import Field, create_model

from web.support.inputs import Input, Line, Maybe, Whole, parse
from workflow.kernel import paging


class Limit(Input):
    limit: Maybe(Whole(1, paging.MAX_LIMIT)) = Field(
        None, description=f"Rows on a page ({paging.DEFAULT_LIMIT} when omitted).")


class Page(Limit):
    """A page of a list: its size and where it starts."""

    cursor: Maybe(Line(1000)) = Field(None, description=(
        "`next` or `prev` of a page of the same list; omit for the first page."))


@cache
def _cursor_model(param: str) -> type[Input]:
    return create_model(f"Cursor_{param}", __base__=Input,
                        **{param: (Maybe(Line(1000)), None)})


def page_args(param: str = "cursor") -> tuple[str | None, int]:
    """The cursor in ``param`` and the page size of the request."""
    cursor = getattr(parse(_cursor_model(param), request.args), param)
    return cursor, limit_arg()


def limit_arg() -> int:
    limit = parse(Limit, request.args).limit
    return paging.DEFAULT_LIMIT if limit is None else limit


def url_with(**changes: str | None) -> str:
    """This page's URL with some query arguments set (or removed: ``None``),
    the others kept. Arguments that would clash with the route's own values
    or with ``url_for``'s (``endpoint``, ``_anchor`` …) are dropped: they are
    nothing the page reads."""
    view_args = request.view_args or {}
    args = {k: v for k, v in request.args.to_dict(flat=False).items()
            if k not in view_args and k != "endpoint" and not k.startswith("_")}
    for name, value in changes.items():
        args.pop(name, None)
        if value is not None:
            args[name] = [value]
    return url_for(request.endpoint, **view_args, **args)


def page_url(cursor: str | None, param: str = "cursor") -> str:
    """This page's URL with ``param`` set to ``cursor`` (or removed: the first page)."""
    return url_with(**{param: cursor or None})


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(page_url=page_url)


class Sorting:
    """The sortable columns of a paged table: the header of column ``key``
    links to this page sorted by it (ascending; the current column's link
    reverses its direction), back on the first page, the filters kept."""

    def __init__(self, keys: tuple[str, ...], current: str, direction: str | None) -> None:
        self.keys, self.current, self.direction = keys, current, direction or "asc"

    def url(self, key: str) -> str:
        turn = key == self.current and self.direction == "asc"
        return url_with(sort=key, dir="desc" if turn else None, cursor=None)

    def aria(self, key: str) -> str:
        """The column's ``aria-sort``."""
        if key != self.current:
            return "none"
        return "descending" if self.direction == "desc" else "ascending"

    def arrow(self, key: str) -> str:
        if key != self.current:
            return ""
        return "▼" if self.direction == "desc" else "▲"

"""Paged lists on the pages: the page arguments of a request, and the links
to the pages either side (the ``pager`` macro of ``_macros.html``).

A list's page is chosen by an opaque ``cursor`` argument (``workflow.paging``)
and its size by ``limit`` (1–200, 50 by default); a page with several lists
gives each its own cursor argument. Every other argument of the request (the
filters, the sort, the tab) is kept in the links, so paging never loses them.
"""

from __future__ import annotations

from flask import Flask, request, url_for

from workflow import paging
from workflow.errors import ValidationError


def page_args(param: str = "cursor") -> tuple[str | None, int]:
    """The cursor in ``param`` and the page size of the request."""
    return request.args.get(param) or None, limit_arg()


def limit_arg() -> int:
    raw = request.args.get("limit", "").strip()
    if not raw:
        return paging.DEFAULT_LIMIT
    if not raw.isdigit() or len(raw) > 4:
        raise ValidationError(f"'limit' is a whole number from 1 to {paging.MAX_LIMIT}.",
                              field="limit")
    return paging.check_limit(int(raw))


def page_url(cursor: str | None, param: str = "cursor") -> str:
    """This page's URL with ``param`` set to ``cursor`` (or removed: the first page)."""
    args = request.args.to_dict(flat=False)
    args.pop(param, None)
    if cursor:
        args[param] = [cursor]
    return url_for(request.endpoint, **(request.view_args or {}), **args)


def init_app(app: Flask) -> None:
    app.jinja_env.globals.update(page_url=page_url)

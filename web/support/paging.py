"""Paged lists on the pages: the page arguments of a request, and the links
to the pages either side (the ``pager`` macro of ``common/macros.html``).

A list's page is chosen by an opaque ``cursor`` argument (``workflow.kernel.paging``)
and its size by ``limit`` (1–200, 50 by default); a page with several lists
gives each its own cursor argument. Every other argument of the request (the
filters, the sort, the tab) is kept in the links, so paging never loses them.
"""

from __future__ import annotations

from flask import Flask, request, url_for

from workflow.kernel import paging, validate


def page_args(param: str = "cursor") -> tuple[str | None, int]:
    """The cursor in ``param`` and the page size of the request."""
    return request.args.get(param) or None, limit_arg()


def limit_arg() -> int:
    limit = validate.number(request.args.get("limit"), "limit", low=1, high=paging.MAX_LIMIT)
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

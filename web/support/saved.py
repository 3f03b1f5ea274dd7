"""Saved filters on the list pages: the query string of a page's filters,
written back by the page's own input model (only its declared fields, each
checked), and a person's saved filters as links, each checked again before
it is offered (a filter saved before a model changed is shown as unusable,
never followed)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from werkzeug.datastructures import MultiDict

from web.support.inputs import Input, InputError, parse

# Arguments of a list page that are not its filter: where the list starts.
NOT_FILTERS = ("cursor", "pcursor", "xcursor", "limit")


def canonical(model: type[Input], query: str) -> str:
    """``query`` parsed by ``model`` and written back: its declared, non-empty
    fields only, in the model's order. ``InputError`` when a value is bad."""
    source = MultiDict(parse_qsl(query.lstrip("?"), keep_blank_values=False))
    args = parse(model, source)
    values = args.model_dump(mode="json", exclude_none=True)
    return urlencode([(name, values[name]) for name in model.model_fields
                      if name in values and values[name] not in ("", None)])


@dataclass(frozen=True)
class SavedLink:
    id: int
    name: str
    query: str | None  # None: no longer valid for the page
    active: bool = False


def saved_links(session, user, page: str, model: type[Input], current: str) -> list[SavedLink]:
    """``user``'s saved filters of ``page``, each checked by ``model``;
    ``active`` marks the one equal to the filter shown (``current``)."""
    from workflow.accounts.saved_filters import saved_filters

    try:
        shown = canonical(model, current)
    except InputError:
        shown = None
    links = []
    for saved in saved_filters(session, user, page):
        try:
            query = canonical(model, saved.query)
        except InputError:
            query = None
        links.append(SavedLink(saved.id, saved.name, query, query is not None and query == shown))
    return links

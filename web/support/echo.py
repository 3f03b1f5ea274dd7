"""A refused form comes back as the same page, with what was typed and the
reason beside the field, in the user's language.

Every page form posts to an action route that redirects on success. When the
engine or the input layer refuses the post (400 or 409), the page the user
was on (the ``Referer``, same origin, a GET route of this app) is rendered
again as that user, inside the same request, and the form that posted here
is filled from the post: text fields, text areas, choices and boxes keep
their values (never passwords, files or hidden fields, whose fresh values the
page itself supplies), the reason stands at the top of the form, and an
``InputError`` puts its message beside the field it names, which is marked
``aria-invalid`` and focused (without one, the reason takes the focus). A
form inside a closed ``<details>`` is opened. The answer keeps the refusal's
status.

The page is rewritten by offsets found with the standard HTML parser, so
everything but the tags it touches stays byte for byte as rendered. Without a
usable ``Referer``, or when the page holds no form posting here, the plain
error page is shown as before.
"""

from __future__ import annotations

import io
import logging
import unicodedata
from html import escape
from html.parser import HTMLParser
from urllib.parse import urlsplit

from flask import Response, current_app, request
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException

log = logging.getLogger("daiban.web")

FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
NOT_ECHOED = {"hidden", "password", "file", "submit", "button", "reset", "image"}
MAX_ECHO = 20_000  # characters of one echoed value (a field's maxlength caps it further)


def again(status: int, message: str, field: str | None = None,
          reason: str | None = None) -> Response | None:
    """The referring page with the posted form filled in and the refusal shown,
    or ``None`` when this request is not a page form post that can be echoed."""
    if request.method != "POST" or request.path.startswith("/api/"):
        return None
    if request.mimetype not in FORMS:
        return None
    environ = _referring_get()
    if environ is None:
        return None
    page = _render(environ)
    if page is None:
        return None
    html = page.get_data(as_text=True)
    rewritten = fill(html, request.path, request.form, message, field, reason)
    if rewritten is None:
        return None
    response = current_app.response_class(rewritten, status=status, mimetype="text/html")
    for name in ("Content-Security-Policy", "Content-Language", "Vary"):
        if name in page.headers:
            response.headers[name] = page.headers[name]
    response.headers["Cache-Control"] = "no-store"
    return response


def _referring_get() -> dict | None:
    """The WSGI environ of a GET of the referring page, or ``None`` when the
    referrer is absent, foreign or not a page of this app."""
    referrer = request.headers.get("Referer", "")
    if not referrer or len(referrer) > 4096:
        return None
    parts = urlsplit(referrer)
    if parts.scheme not in ("", "http", "https") or (parts.netloc and parts.netloc != request.host):
        return None
    path = parts.path or "/"
    root = request.script_root
    if not path.startswith("/") or path.startswith("//") or not path.startswith(root or "/"):
        return None
    path = path[len(root):] or "/"
    environ = {k: v for k, v in request.environ.items()
               if not k.startswith(("werkzeug.", "flask."))}
    environ.update(REQUEST_METHOD="GET", PATH_INFO=path, QUERY_STRING=parts.query,
                   CONTENT_LENGTH="0", CONTENT_TYPE="")
    environ["wsgi.input"] = io.BytesIO(b"")
    try:
        current_app.url_map.bind_to_environ(environ).match(method="GET")
    except HTTPException:
        return None
    return environ


def _render(environ: dict) -> Response | None:
    """The page, rendered as a request of its own (its own database session
    and ``g``), or ``None`` unless it is an ordinary HTML page."""
    app = current_app._get_current_object()
    try:
        with app.app_context(), app.request_context(environ):
            page = app.full_dispatch_request()
            ok = (page.status_code == 200 and page.mimetype == "text/html"
                  and not page.is_streamed)
            if not ok:
                page.close()
                return None
            page.get_data()  # read inside the request: nothing lazy escapes it
            return page
    except Exception:  # the refusal is still shown, on the plain page
        log.warning("could not render %s again for a refused form", environ.get("PATH_INFO"),
                    exc_info=True)
        return None


# -- rewriting the page -------------------------------------------------------------------

class _Tag:
    __slots__ = ("name", "attrs", "start", "end", "close_start", "close_end", "details")

    def __init__(self, name, attrs, start, end, details):
        self.name, self.attrs, self.start, self.end = name, dict(attrs), start, end
        self.close_start = self.close_end = None
        self.details = details  # the <details> elements enclosing it


class _Forms(HTMLParser):
    """Where each form, its fields and the ``<details>`` around them are."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.html = html
        self.lines = [0]
        for index, char in enumerate(html):
            if char == "\n":
                self.lines.append(index + 1)
        self.forms: list[tuple[_Tag, list[_Tag]]] = []
        self.details: list[_Tag] = []
        self.open: list[_Tag] = []  # textarea, select and option waiting for their end
        self.form: tuple[_Tag, list[_Tag]] | None = None
        self.feed(html)
        self.close()

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.lines[line - 1] + column

    def handle_starttag(self, tag, attrs):
        start = self._offset()
        text = self.get_starttag_text() or ""
        element = _Tag(tag, attrs, start, start + len(text), list(self.details))
        if tag == "details":
            self.details.append(element)
        elif tag == "form":
            self.form = (element, [])
            self.forms.append(self.form)
        elif self.form is not None and tag in ("input", "textarea", "select", "option", "button"):
            self.form[1].append(element)
            if tag in ("textarea", "select", "option"):
                if tag == "option" and self.open and self.open[-1].name == "option":
                    self._finish(self.open.pop(), start, start)  # an option ends the last one
                self.open.append(element)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if self.open and self.open[-1].name == tag and tag in ("textarea", "select", "option"):
            self.open.pop()

    def handle_endtag(self, tag):
        start = self._offset()
        end = self.html.find(">", start) + 1
        if tag == "details" and self.details:
            self.details.pop()
        elif tag == "form" and self.form is not None:
            self.form[0].close_start, self.form[0].close_end = start, end
            self.form = None
        elif tag in ("textarea", "select", "option"):
            if tag == "select" and self.open and self.open[-1].name == "option":
                self._finish(self.open.pop(), start, start)
            if self.open and self.open[-1].name == tag:
                self._finish(self.open.pop(), start, end)

    @staticmethod
    def _finish(element: _Tag, close_start: int, close_end: int) -> None:
        element.close_start, element.close_end = close_start, close_end


def _posts_here(form: _Tag, path: str) -> bool:
    if (form.attrs.get("method") or "get").lower() != "post":
        return False
    action = urlsplit(form.attrs.get("action") or "")
    return action.path == path or (action.path == "" and action.netloc == "")


def _start_tag(element: _Tag) -> str:
    parts = [element.name]
    for name, value in element.attrs.items():
        parts.append(name if value is None else f'{name}="{escape(value, quote=True)}"')
    return "<" + " ".join(parts) + ">"


def _clean(value: str, limit: int) -> str:
    """A posted value as it may be shown again: no control characters but
    tabs and line breaks, at most ``limit`` characters."""
    kept = "".join(c for c in value
                   if c in "\t\n\r" or unicodedata.category(c) not in ("Cc", "Cs"))
    return kept[:limit]


def _limit(element: _Tag) -> int:
    raw = element.attrs.get("maxlength") or ""
    return min(int(raw), MAX_ECHO) if raw.isdigit() else MAX_ECHO


def fill(html: str, path: str, posted, message: str, field: str | None,
         reason: str | None) -> str | None:
    """``html`` with the form posting to ``path`` filled from ``posted`` (a
    ``MultiDict``), ``message`` at its top and ``reason`` beside ``field``;
    ``None`` when no form on the page posts to ``path``."""
    parsed = _Forms(html)
    candidates = [(form, fields) for form, fields in parsed.forms if _posts_here(form, path)]
    if not candidates:
        return None
    names = set(posted.keys())

    def fit(entry):  # the form whose fields best match what was posted
        _form, fields = entry
        own = {f.attrs.get("name") for f in fields if f.attrs.get("name")}
        return (field in own if field else False, len(own & names))

    form, fields = max(candidates, key=fit)
    edits: list[tuple[int, int, str]] = []
    target = None
    select_name = None
    for element in fields:
        name = element.attrs.get("name")
        if element.name == "select":
            select_name = name
        if element.name == "option":
            if select_name is None or select_name not in names:
                continue
            value = element.attrs.get("value")
            if value is None and element.close_start is not None:
                value = html[element.end:element.close_start].strip()
            chosen = value in posted.getlist(select_name)
            if chosen != ("selected" in element.attrs):
                element.attrs.pop("selected", None)
                if chosen:
                    element.attrs["selected"] = None
                edits.append((element.start, element.end, _start_tag(element)))
            continue
        if not name:
            continue
        kind = (element.attrs.get("type") or "text").lower()
        is_target = field is not None and name == field and target is None and kind != "hidden"
        changed = False
        if element.name == "input" and kind in ("checkbox", "radio"):
            checked = (element.attrs.get("value") or "on") in posted.getlist(name)
            if checked != ("checked" in element.attrs):
                element.attrs.pop("checked", None)
                if checked:
                    element.attrs["checked"] = None
                changed = True
        elif element.name == "input" and kind not in NOT_ECHOED and name in names:
            element.attrs["value"] = _clean(posted.get(name, ""), _limit(element))
            changed = True
        elif element.name == "textarea" and name in names and element.close_start is not None:
            edits.append((element.end, element.close_start,
                          escape(_clean(posted.get(name, ""), _limit(element)), quote=False)))
        if is_target:
            target = element
            element.attrs["aria-invalid"] = "true"
            element.attrs["aria-describedby"] = _error_id(name)
            element.attrs["autofocus"] = None
            changed = True
        if changed:
            edits.append((element.start, element.end, _start_tag(element)))
    if target is not None and reason:
        after = target.close_end if target.name in ("textarea", "select") and \
            target.close_end is not None else target.end
        edits.append((after, after, f'<span class="field-error" id="{_error_id(field)}">'
                                    f'{escape(reason)}</span>'))
    if target is not None and reason:
        message = _("输入有误，请修改标出的内容后重新提交")
    # Without a field to focus, the reason takes the focus: the keyboard and a
    # screen reader meet it where the form is, not at the top of the page.
    focus = "" if target is not None else ' tabindex="-1" autofocus'
    edits.append((form.end, form.end,
                   f'<p class="flash error form-error" role="alert"{focus}>{escape(message)}</p>'))
    for details in {id(d): d for d in [*form.details, *(target.details if target else [])]}.values():
        if "open" not in details.attrs:
            details.attrs["open"] = None
            edits.append((details.start, details.end, _start_tag(details)))
    for start, end, text in sorted(edits, key=lambda e: (e[0], e[1]), reverse=True):
        html = html[:start] + text + html[end:]
    return html


def _error_id(name: str) -> str:
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in name)[:60]
    return f"error-{safe}"

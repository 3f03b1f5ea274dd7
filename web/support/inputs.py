"""The edge: every form field, query argument and JSON body a view reads is
parsed by a declared model (pydantic) before anything else sees it.

A model is a subclass of ``Input`` whose fields use the types below: whole
numbers within the column's range, one-line text without control characters
(multi-line text allows tabs and line breaks only), finite numbers, ISO dates.
``parse(Model, source)`` reads exactly the declared fields from a form, the
query arguments or a JSON object; a bad value raises ``InputError`` (the
engine's ``ValidationError``, so it answers 400 through ``web.support.errors``
and changes nothing) naming the field, with the message in the user's language
for the pages and the JSON error shape for the API. The engine's own checks
(``workflow.kernel.validate``) stay as the second line.

The same models describe the API's request bodies and parameters in the
OpenAPI document (``model_json_schema``): there is no second copy.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import date
from typing import Annotated, Any, TypeVar, get_args, get_origin

from flask import has_request_context, request
from flask_babel import force_locale
from flask_babel import gettext as _
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    InstanceOf,
    PlainSerializer,
    StringConstraints,
    WithJsonSchema,
)
from pydantic import ValidationError as PydanticError
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.routing import IntegerConverter

from workflow.kernel.errors import ValidationError

# The database's integer ranges: a value beyond them never reaches a query
# (PostgreSQL refuses it, SQLite's driver cannot bind it).
INT_MAX = 2**31 - 1  # INTEGER
BIGINT_MAX = 2**63 - 1  # BIGINT
MULTILINE = "\t\n\r"


M = TypeVar("M", bound="Input")


class InputError(ValidationError):
    """A value at the edge is not what the route declares (400, ``invalid_input``)."""


def _typeable(value: str, allowed: str = "") -> str:
    if any(unicodedata.category(c) in ("Cc", "Cs") and c not in allowed for c in value):
        raise ValueError("control_character")
    return value


def _one_line(value: str) -> str:
    return _typeable(value)


def _multi_line(value: str) -> str:
    return _typeable(value, MULTILINE)


def _blank_is_none(value: Any) -> Any:
    """An empty form field is a field not given."""
    if isinstance(value, str) and not value.strip():
        return None
    return value


def _whole(value: Any) -> Any:
    """Whole numbers as people type them: ASCII digits with an optional minus,
    at most 19 digits (so a huge value is refused before it is converted); a
    JSON number must be an integer, not ``1e999``, ``NaN`` or ``true``."""
    if isinstance(value, bool):
        raise ValueError("int_type")
    if isinstance(value, float):
        if not math.isfinite(value) or not value.is_integer():
            raise ValueError("int_type")
        value = int(value)
    if isinstance(value, str):
        raw = value.strip()
        digits = raw[1:] if raw.startswith("-") else raw
        if not (digits.isascii() and digits.isdecimal()) or len(digits) > 19:
            raise ValueError("int_type")
        return int(raw)
    return value


def _flag(value: Any) -> Any:
    if isinstance(value, bool) or value is None:
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in ("1", "true", "yes", "on", "approve"):
        return True
    if isinstance(value, str) and value.strip().lower() in ("0", "false", "no", "off", "refuse",
                                                            ""):
        return False
    raise ValueError("bool_type")


def _iso_day(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()) if len(value.strip()) == 10 else _no_day()
        except ValueError:
            _no_day()
    return value


def _no_day():
    raise ValueError("date_type")


def Line(max_length: int, min_length: int = 0):  # noqa: N802 - a type, read as one
    """One line of text (a name, a code, a username): stripped, at most
    ``max_length`` characters (the column's ``String(n)``), no control characters."""
    return Annotated[str, Field(min_length=min_length or None, max_length=max_length),
                     AfterValidator(_one_line)]


def Text(max_length: int, min_length: int = 0):  # noqa: N802
    """Text of several lines (a comment, a reason): tabs and line breaks allowed."""
    return Annotated[str, Field(min_length=min_length or None, max_length=max_length),
                     AfterValidator(_multi_line)]


def Password(max_length: int = 1024):  # noqa: N802
    """A password as typed: never stripped (spaces count), any character but
    control characters, at most ``max_length``. The engine checks its strength."""
    return Annotated[str, StringConstraints(strip_whitespace=False, max_length=max_length),
                     AfterValidator(_one_line)]


def Whole(low: int = 0, high: int = INT_MAX):  # noqa: N802
    """A whole number within ``low``–``high`` (by default an INTEGER column)."""
    return Annotated[int, Field(ge=low, le=high), BeforeValidator(_whole)]


def Maybe(kind):  # noqa: N802
    """An optional value: an empty form field is ``None``."""
    return Annotated[kind | None, BeforeValidator(_blank_is_none)]


Id = Whole(1, INT_MAX)  # a row's id
# An amount in 万元 as the zone writes it (thousands may be separated by commas).
Wan = Annotated[int, Field(ge=0, le=INT_MAX),
                BeforeValidator(lambda v: _whole(v.replace(",", "") if isinstance(v, str) else v))]
Flag = Annotated[bool, BeforeValidator(_flag)]
Day = Annotated[date, BeforeValidator(_iso_day),
                PlainSerializer(lambda d: d.isoformat(), return_type=str),
                WithJsonSchema({"type": "string", "format": "date"})]
Finite = Annotated[float, Field(allow_inf_nan=False)]


class _FileField:
    """Marks a field ``form`` fills from the request's files, not its text fields."""


def _chosen(upload: FileStorage) -> FileStorage:
    if not upload.filename:  # the browser sends an empty part when no file was chosen
        raise ValueError("file_missing")
    return upload


# An uploaded file (a multipart part with a file name); ``web.support.uploads``
# checks its size and its kind by content.
File = Annotated[InstanceOf[FileStorage], AfterValidator(_chosen), _FileField(),
                 WithJsonSchema({"type": "string", "format": "binary"})]


class Input(BaseModel):
    """A route's input. Unknown fields are ignored (a form carries its CSRF
    token and its buttons); text is stripped; numbers are finite."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True, frozen=True,
                              allow_inf_nan=False, hide_input_in_errors=True)


class BackTo(Input):
    """Where a form returns to: ``next``, a page of this site (the view checks
    it with ``web.support.access.local_target``)."""

    next: Maybe(Line(2048)) = None


# -- reading a source ---------------------------------------------------------------------

def _is_list(annotation) -> bool:
    while get_origin(annotation) is Annotated:
        annotation = get_args(annotation)[0]
    return get_origin(annotation) is list


def _from_multidict(model: type[Input], source: MultiDict) -> dict[str, Any]:
    data: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        key = info.alias or name
        if _is_list(info.annotation):
            values = source.getlist(key)
            if values:
                data[key] = values
        else:
            value = source.get(key)
            if value is not None:
                data[key] = value
    return data


def parse(model: type[M], source: Any) -> M:
    """``model`` from a form or query arguments (a ``MultiDict``) or a JSON
    object (a ``dict``); ``InputError`` naming the first bad field otherwise."""
    if isinstance(source, MultiDict):
        data = _from_multidict(model, source)
    elif isinstance(source, dict):
        data = {info.alias or name: source[info.alias or name]
                for name, info in model.model_fields.items() if (info.alias or name) in source}
    else:
        raise InputError("The request body must be a JSON object.", field="body")
    try:
        return model.model_validate(data)
    except PydanticError as exc:
        raise input_error(exc, model) from None


def form(model: type[M]) -> M:
    """``model`` from the request's form; its ``File`` fields from the uploaded files."""
    files = [info.alias or name for name, info in model.model_fields.items()
             if any(isinstance(m, _FileField) for m in info.metadata)]
    if not files:
        return parse(model, request.form)
    source = request.form.copy()
    for key in files:
        source.setlist(key, request.files.getlist(key))
    return parse(model, source)


def query(model: type[M]) -> M:
    return parse(model, request.args)


def json_body(model: type[M]) -> M:
    """``model`` from the request's JSON object; an empty body is ``{}``. The
    body is read by pydantic's own parser, which refuses what Python's would
    let through (``NaN``, ``Infinity``, a number beyond a float: ``1e999``)."""
    raw = request.get_data(cache=True)
    if not raw.strip():
        return parse(model, {})
    try:
        import pydantic_core

        body = pydantic_core.from_json(raw, allow_inf_nan=False)
    except ValueError:
        raise InputError("The request body is not valid JSON.", field="body") from None
    if not isinstance(body, dict):
        raise InputError("The request body must be a JSON object.", field="body")
    return parse(model, body)


# -- errors -------------------------------------------------------------------------------

def input_error(exc: PydanticError, model: type[Input] | None = None) -> InputError:
    """The first problem, in the user's language for the pages (the API's
    clients read the English ``message`` and the field in ``details``)."""
    first = exc.errors(include_url=False, include_input=False)[0]
    field = ".".join(str(part) for part in first["loc"]) or "body"
    if model is not None and first["loc"] and first["loc"][0] in model.model_fields:
        first["ctx"] = dict(first.get("ctx") or {}, **_bounds(model, str(first["loc"][0])))
    if has_request_context() and request.path.startswith("/api/"):
        with force_locale("en"):  # the API speaks to programs: English, as its other errors
            what = _reason(first)
    else:
        what = _reason(first)
    error = InputError(f"'{field}': {what}", field=field, problem=first["type"])
    error.field = field
    error.reason = what  # shown beside the field when the page's form comes back
    return error


_RANGE = ("greater_than_equal", "greater_than", "less_than_equal", "less_than")


def _bounds(model: type[Input], name: str) -> dict[str, int]:
    """The range a whole-number field declares, to name both ends in a message."""
    bounds: dict[str, int] = {}

    def look(things) -> None:
        for item in things:
            for attr in ("ge", "le"):
                if isinstance(getattr(item, attr, None), int):
                    bounds.setdefault(attr, getattr(item, attr))
            look(getattr(item, "metadata", ()) or ())
            look(get_args(item))

    info = model.model_fields[name]
    look([*info.metadata, info.annotation])
    return bounds


def _reason(error: dict) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    message = str(ctx.get("error", "")) if kind == "value_error" else ""
    if kind == "missing":
        return _("必填")
    whole = message == "int_type" or kind.startswith("int_") or kind in _RANGE
    if whole and "ge" in ctx and "le" in ctx:
        return _("须为 %(low)s 至 %(high)s 之间的整数", low=ctx["ge"], high=ctx["le"])
    if message == "control_character":
        return _("含有无法输入的字符（如控制字符）")
    if message == "int_type" or kind.startswith("int_"):
        return _("须为整数")
    if message == "file_missing" or kind == "is_instance_of":
        return _("请选择要上传的文件")
    if message == "bool_type" or kind.startswith("bool"):
        return _("须为是或否")
    if message == "date_type" or kind.startswith("date"):
        return _("须为日期（YYYY-MM-DD）")
    if kind in ("finite_number", "float_parsing", "float_type"):
        return _("须为有限的数值")
    if kind in ("greater_than_equal", "greater_than"):
        return _("不得小于 %(n)s", n=ctx.get("ge", ctx.get("gt")))
    if kind in ("less_than_equal", "less_than"):
        return _("不得大于 %(n)s", n=ctx.get("le", ctx.get("lt")))
    if kind == "string_too_long":
        return _("最多 %(n)s 个字符", n=ctx.get("max_length"))
    if kind == "string_too_short":
        return _("不能为空") if ctx.get("min_length") == 1 else \
            _("至少 %(n)s 个字符", n=ctx.get("min_length"))
    if kind in ("literal_error", "enum"):
        return _("不是可选的值")
    if kind in ("string_type", "list_type", "dict_type", "model_type"):
        return _("类型不正确")
    return _("格式不正确")


# -- path parameters ----------------------------------------------------------------------

class RowId(IntegerConverter):
    """``<int:…>`` in a route: a row id, 1 to INTEGER's largest; any other
    number does not match the route (404), never reaching the database."""

    def __init__(self, map, fixed_digits=0, min=1, max=INT_MAX, signed=False):  # noqa: A002
        super().__init__(map, fixed_digits=fixed_digits, min=min, max=max, signed=signed)

    def to_python(self, value: str) -> int:
        if len(value) > 10:
            from werkzeug.routing import ValidationError as NoMatch

            raise NoMatch()
        return super().to_python(value)


# -- the backstop -------------------------------------------------------------------------

def refuse_untypeable() -> None:
    """Before any view: no query argument, form field or path segment holds a
    control character but the tabs and line breaks of multi-line text (a NUL
    would fail PostgreSQL's text, an escape would reach an export). Each
    route's model then checks its own fields exactly."""
    for name, value in (request.view_args or {}).items():
        if isinstance(value, str):
            _backstop(name, value, "")
    for source in (request.args, request.form if request.mimetype in _FORMS else None):
        for name, value in (source.items(multi=True) if source is not None else ()):
            _backstop(name, value, MULTILINE)
            _backstop(name, name, "")


_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")


def _backstop(field: str, value: str, allowed: str) -> None:
    try:
        _typeable(value, allowed)
    except ValueError:
        field = field if field.isprintable() and len(field) <= 64 else "?"
        reason = _("含有无法输入的字符（如控制字符）")
        error = InputError(f"'{field}': " + reason, field=field)
        error.field, error.reason = field, reason
        raise error from None


def init_app(app) -> None:
    app.before_request(refuse_untypeable)

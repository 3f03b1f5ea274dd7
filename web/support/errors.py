"""Domain errors to HTTP, in one place.

A user sees one clear sentence in their language; the log gets the details.
API requests (``/api/``) get JSON ``{"error": code, "message": ..., "details": ...}``.

Every handler first rolls the request's session back: a failed flush leaves
it unusable, and the error page's navigation counts would otherwise fail
again (``PendingRollbackError``) and turn the answer into a bare 500. When
the database cannot be reached (an outage, a dropped connection, a pool that
is exhausted) the answer is 503 with ``Retry-After``, on a page that asks
nothing of the database; the engine replaces dropped connections
(``pool_pre_ping``), so the next request after the outage succeeds.
"""

from __future__ import annotations

import logging
from functools import lru_cache

from babel.support import NullTranslations, Translations
from flask import Flask, current_app, g, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException

from web.support import i18n, labels, rows
from workflow.kernel.errors import (
    Conflict,
    InvalidTransition,
    NoEligibleAgent,
    NotFound,
    NotPermitted,
    ValidationError,
    WorkflowError,
    fill,
)
from workflow.kernel.tabular import Problems

log = logging.getLogger("daiban.web")

STATUS = {
    InvalidTransition: 409,
    Conflict: 409,
    NotPermitted: 403,
    NotFound: 404,
    ValidationError: 400,
    NoEligibleAgent: 409,
}


def status_of(exc: WorkflowError) -> int:
    for cls in type(exc).__mro__:
        if cls in STATUS:
            return STATUS[cls]
    return 400


def user_message(exc: WorkflowError) -> str:
    """The sentence shown to the user: a translated lead-in (the nearest
    class's, so a refined error keeps its family's) plus the engine's reason."""
    leads = {
        InvalidTransition: _("当前状态不允许此操作"),
        Conflict: _("数据已被他人修改，请刷新后重试"),
        NotPermitted: _("无权执行此操作"),
        NotFound: _("未找到"),
        ValidationError: _("输入有误"),
        NoEligibleAgent: _("没有可分配的代办员"),
    }
    lead = next((leads[cls] for cls in type(exc).__mro__ if cls in leads), _("操作失败"))
    return f"{lead}：{refusal_reason(exc)}"


def refusal_reason(exc: WorkflowError) -> str:
    """The engine's reason in the user's language: a refusal that carries a
    known ``refusal`` code in its details is told by the sentence of that code
    (its figures filled in); any other keeps the engine's own sentence."""
    code = exc.details.get("refusal")
    if not isinstance(code, str):
        return engine_sentence(exc)
    figures = {k: v for k, v in exc.details.items() if isinstance(v, (int, str))}
    if code == "extension_not_allowed":
        return _("事项“%(item)s”的办理时限依法不得延长。", item=_item_name(figures))
    if code == "extension_used_up":
        return _("事项“%(item)s”最多可延长 %(limit)s 天，已延长 %(granted)s 天，还可申请 %(left)s 天。",
                 item=_item_name(figures), limit=figures.get("limit", 0),
                 granted=figures.get("granted", 0), left=figures.get("left", 0))
    if code == "extension_pending":
        return _("本事项已有一份延期申请待领办人审批，审批后才能再次申请。")
    if code == "extension_clock_stopped":
        return _("该时限已停止计时（已报送部门或部门已作出决定），无需延期。")
    if code == "extension_state":
        return _("事项当前状态（%(state)s）不能申请延期。",
                 state=labels.state_label(str(figures.get("state", ""))))
    if code == "extension_decided":
        return _("该延期申请已审批过。")
    if code == "mandate_unsigned":
        return _("企业尚未签署代办服务委托书：签署后代办员才能代为办理（帮办代办不包办）。")
    if code == "outside_mandate":
        return _("事项“%(item)s”不在企业已签署的委托范围内：企业签署续办委托书后才能代为办理。",
                 item=_item_name(figures))
    if code == "gap_open":
        return _("本事项为容缺受理，企业承诺的材料须于 %(due)s 前补齐后才能办结。",
                 due=figures.get("due", ""))
    return engine_sentence(exc)


@lru_cache(maxsize=1)
def _engine_catalogue() -> NullTranslations:
    """The engine's Chinese (``web/translations/zh_CN/LC_MESSAGES/engine.mo``)."""
    return Translations.load(str(i18n.ENGINE_MO.parents[2]), [i18n.ENGINE_LOCALE],
                             domain=i18n.ENGINE_DOMAIN)


# Details whose codes the pages already name (labels.py): a task's state, a
# project's stage, an account's role.
LABELLED_DETAILS = {"state": (labels.STATES, labels.STAGES), "expected_state": (labels.STATES,),
                    "stage": (labels.STAGES,),
                    "role": (labels.ROLES,)}


def _detail_in_chinese(catalogue: NullTranslations, key: str, value):
    """A detail as the Chinese sentence shows it: a refusal by its own
    sentence; a word by the catalogue's entry for this detail (``term(word,
    key)``), the pages' label for its code, or the catalogue's word."""
    if isinstance(value, WorkflowError):
        return engine_sentence(value)
    if isinstance(value, Problems):
        return rows.problems(value)
    if not isinstance(value, str) or not value:
        return value
    if ", " in value:  # a list of words (the events allowed now): each told, or none
        words = value.split(", ")
        told = [_detail_in_chinese(catalogue, key, word) for word in words]
        if all(chinese != word for chinese, word in zip(told, words, strict=True)):
            return "、".join(told)
        return value
    marked = catalogue.pgettext(key, value)
    if marked != value:
        return marked
    for table in LABELLED_DETAILS.get(key, ()):
        if value in table:
            return str(table[value])
    return catalogue.gettext(value)


def engine_sentence(exc: WorkflowError) -> str:
    """The engine's own sentence in the user's language: its English template
    (``exc.template``) looked up in the engine's catalogue and filled with the
    same details, a detail that is a catalogued word or a refusal of its own
    told in Chinese too. English, or a template not (yet) translated, gives
    the engine's English message; a translation that cannot be filled does too."""
    if labels.english():
        return exc.message
    catalogue = _engine_catalogue()
    if exc.template not in getattr(catalogue, "_catalog", {}):  # not (yet) translated
        return exc.message
    template = catalogue.gettext(exc.template)
    details = {key: _detail_in_chinese(catalogue, key, value) for key, value in exc.details.items()}
    sentence = fill(template, details)
    if sentence is None:
        log.warning("the engine's Chinese for %r cannot be filled from %s", exc.template,
                    sorted(exc.details))
        return exc.message
    return sentence


def _item_name(figures: dict) -> str:
    """The item's name in the user's language (the engine names it in both)."""
    name = figures.get("item_en" if labels.english() else "item_zh")
    return str(name or figures.get("item") or "")


def wants_json() -> bool:
    return request.path.startswith("/api/")


RETRY_AFTER_SECONDS = 30


def end_failed_transaction() -> None:
    """Roll the request's session back before an error page is rendered."""
    session = g.get("db")
    if session is None:
        return
    try:
        session.rollback()
    except SQLAlchemyError:  # the connection is gone: let the pool replace it
        log.warning("rollback failed; the session's connection is dropped", exc_info=True)
        session.invalidate()


def is_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached now (rather than
    that a statement was wrong)."""
    if isinstance(exc, (OperationalError, PoolTimeout)):
        return True
    return isinstance(exc, DBAPIError) and exc.connection_invalidated


def unavailable():
    """503 with Retry-After, on a page that needs no database (the usual
    layout loads the user and counts the navigation's badges)."""
    seconds = current_app.config.get("RETRY_AFTER_SECONDS", RETRY_AFTER_SECONDS)
    message = _("系统暂时无法访问数据库，请稍后重试")
    if wants_json():
        response = jsonify(error="unavailable", message="The database is unavailable; "
                                                         "retry later.")
    else:
        # Rendered without the context processors: Flask-Login's would load the user.
        page = current_app.jinja_env.get_template("common/unavailable.html")
        response = current_app.response_class(page.render(message=message, path=request.path),
                                              mimetype="text/html")
    response.status_code = 503
    response.headers["Retry-After"] = str(seconds)
    response.headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    @app.errorhandler(DBAPIError)
    @app.errorhandler(PoolTimeout)
    def _database_unavailable(exc: SQLAlchemyError):
        if not is_unavailable(exc):
            raise exc  # a wrong statement: Flask's 500 (below, or the test's traceback)
        end_failed_transaction()
        log.warning("database unavailable for %s %s: %s", request.method, request.path, exc)
        return unavailable()

    @app.errorhandler(WorkflowError)
    def _workflow_error(exc: WorkflowError):
        end_failed_transaction()
        status = status_of(exc)
        log.info("refused %s %s: %s %s", request.method, request.path, exc.code, exc.details)
        if wants_json():
            return jsonify(error=exc.code, message=exc.message, details=_jsonable(exc.details)), status
        if status in ECHOED:
            page = _form_again(exc, status)
            if page is not None:
                return page
        return render_template("common/error.html", status=status, message=user_message(exc)), status

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        end_failed_transaction()
        message = _("表单已过期或缺少安全令牌，请刷新页面后重试")
        if wants_json():
            return jsonify(error="csrf", message=exc.description), 400
        return render_template("common/error.html", status=400, message=message), 400

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        end_failed_transaction()
        original = getattr(exc, "original_exception", None)
        if original is not None and is_unavailable(original):
            return unavailable()
        # The exception's own headers (a 405's Allow, a 401's WWW-Authenticate)
        # go with the page or the JSON that replaces its body.
        headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        if wants_json():
            return (jsonify(error=exc.name.lower().replace(" ", "_"), message=exc.description),
                    exc.code, headers)
        messages = {403: _("无权访问"), 404: _("页面不存在"), 413: _("文件太大"),
                    429: _("尝试次数过多，请稍后再试")}
        return render_template("common/error.html", status=exc.code,
                               message=messages.get(exc.code, exc.description)), exc.code, headers


ECHOED = (400, 409)  # refusals a user can act on by changing what was typed


def _form_again(exc: WorkflowError, status: int):
    """The page the user was on, its form filled again with the reason beside
    the field (``web.support.echo``)."""
    from web.support import echo

    field = getattr(exc, "field", None) or exc.details.get("field")
    field = field if isinstance(field, str) else None
    reason = getattr(exc, "reason", None) or (refusal_reason(exc) if field else None)
    return echo.again(status, user_message(exc), field=field, reason=reason)


def _jsonable(details):
    return {k: (v if isinstance(v, (str, int, float, bool, list, type(None))) else str(v))
            for k, v in details.items()}

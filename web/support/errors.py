"""Domain errors to HTTP, in one place.

A user sees one clear sentence in their language; the log gets the details.
API requests (``/api/``) get JSON ``{"error": code, "message": ..., "details": ...}``.
"""

from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from workflow.kernel.errors import (
    Conflict,
    InvalidTransition,
    NoEligibleAgent,
    NotFound,
    NotPermitted,
    ValidationError,
    WorkflowError,
)

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
    return f"{lead}：{exc.message}"


def wants_json() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    @app.errorhandler(WorkflowError)
    def _workflow_error(exc: WorkflowError):
        status = status_of(exc)
        log.info("refused %s %s: %s %s", request.method, request.path, exc.code, exc.details)
        if wants_json():
            return jsonify(error=exc.code, message=exc.message, details=_jsonable(exc.details)), status
        return render_template("common/error.html", status=status, message=user_message(exc)), status

    @app.errorhandler(CSRFError)
    def _csrf_error(exc: CSRFError):
        message = _("表单已过期或缺少安全令牌，请刷新页面后重试")
        if wants_json():
            return jsonify(error="csrf", message=exc.description), 400
        return render_template("common/error.html", status=400, message=message), 400

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
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


def _jsonable(details):
    return {k: (v if isinstance(v, (str, int, float, bool, list, type(None))) else str(v))
            for k, v in details.items()}

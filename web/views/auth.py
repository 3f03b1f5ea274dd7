"""Logging in and out (a password, then a code for those with a second
factor), enrolling a second factor, and the interface language."""

from __future__ import annotations

import segno
from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from web.support import security
from web.support.access import local_target, me, public, requires
from web.support.db import db
from web.support.extensions import LANGUAGES
from web.support.inputs import BackTo, Input, Line, Password, form
from workflow.accounts import lockout, twofactor
from workflow.accounts.passwords import verify_password
from workflow.core import permissions
from workflow.kernel.errors import ValidationError
from workflow.models import User

bp = Blueprint("auth", __name__)

class LoginForm(Input):
    """The password step. The password is taken as typed (never stripped);
    the username as the column holds it."""

    username: Line(80) = ""
    password: Password(1024) = ""


class CodeForm(Input):
    """A code from the authenticator app (6 digits) or a recovery code (10
    letters and digits, often typed with a dash or spaces)."""

    code: Line(64) = ""


HOME = {"agent": "inbox.index", "lead": "desk.index", "enterprise": "portal.index",
        "supervisor": "supervision.index", "admin": "admin.users"}


def home_url(user: User) -> str:
    from flask import current_app

    endpoint = HOME.get(user.role, "inbox.index")
    if endpoint not in current_app.view_functions:
        endpoint = "inbox.index"
    return url_for(endpoint)


@bp.route("/")
@public
def root():
    if current_user.is_authenticated:
        return redirect(home_url(current_user.user))
    return redirect(url_for("auth.login"))


@bp.route("/login", methods=["GET", "POST"])
@public
def login():
    if request.method == "GET":
        return render_template("auth/login.html")
    typed = form(LoginForm)
    username = typed.username
    ip = request.remote_addr or "?"
    try:
        security.check_login_allowed(username, ip)
    except security.TooManyAttempts:
        security.log("login_failed", username=username, detail="refused: too many attempts")
        db().commit()
        flash(_("登录失败次数过多，请15分钟后再试"), "error")
        return render_template("auth/login.html"), 429
    user = db().scalar(select(User).where(User.username == username))
    ok = (user is not None and user.active
          and verify_password(user.password_hash, typed.password))
    if not ok:
        _failed(username, user, "password")
        flash(_("用户名或密码错误"), "error")
        return render_template("auth/login.html"), 401
    if twofactor.is_enrolled(db(), user):
        # The login counts as a success only once the code is right too.
        security.begin_second_step(user)
        db().commit()  # the session the browser had before ends here
        return redirect(url_for("auth.login_code"))
    security.record_attempt(username, ip, True)
    must_enrol = security.policy().requires(user)
    security.start_session(user, must_enrol=must_enrol)
    security.log("login", user=user, detail="password; must enrol" if must_enrol else "password")
    db().commit()
    return redirect(url_for("auth.two_factor") if must_enrol else home_url(user))


@bp.route("/login/code", methods=["GET", "POST"])
@public
def login_code():
    """The second step: a code from the authenticator app or a recovery code."""
    user = security.second_step_user()
    if user is None:
        security.end_second_step()
        flash(_("请重新输入用户名和密码"), "error")
        return redirect(url_for("auth.login"))
    if request.method == "GET":
        return render_template("auth/code.html", person=user)
    code = form(CodeForm).code
    ip = request.remote_addr or "?"
    if (refused := _refused(user, security.end_second_step)) is not None:
        return refused
    how = twofactor.verify(db(), user, code, keys=security.keys(), now=security.now(),
                           client=security.client())
    if how is None:
        _failed(user.username, user, "code")
        flash(_("验证码错误或已使用"), "error")
        return render_template("auth/code.html", person=user), 401
    security.record_attempt(user.username, ip, True)
    security.start_session(user)
    security.log("login", user=user, detail=f"password + {how}")
    db().commit()
    if how == "recovery":
        left = twofactor.recovery_codes_left(db(), user)
        flash(_("已使用一个恢复码，还剩 %(n)s 个；用完前请重新生成", n=left), "warn")
    return redirect(home_url(user))


def _refused(user: User, end):
    """The login limit's answer when ``user``'s failures (passwords and codes,
    at the door or while enrolling) have reached it: ``end`` closes the step
    the request is in, the page says why (429). None when the code may be
    tried; on PostgreSQL the limit's locks are then held until the request
    commits its attempt."""
    try:
        security.check_login_allowed(user.username, request.remote_addr or "?")
    except security.TooManyAttempts:
        end()
        security.log("login_failed", user=user, detail="refused: too many attempts")
        db().commit()
        flash(_("登录失败次数过多，请15分钟后再试"), "error")
        return render_template("auth/login.html"), 429
    return None


def _failed(username: str, user: User | None, step: str) -> None:
    """Count a failed login, log it, and log the lockout it may complete."""
    security.record_attempt(username, request.remote_addr or "?", False)
    db().flush()
    security.log("login_failed", user=user, username=username, detail=step)
    if lockout.just_locked(db(), username, now=security.now(), limit=security.limit()):
        security.log("lockout", user=user, username=username,
                     detail=f"{security.limit().failures} failures")
    db().commit()


@bp.route("/logout", methods=["POST"])
@requires(permissions.can_sign_in)
def logout():
    security.log("logout", user=me())
    security.end_session()
    db().commit()
    return redirect(url_for("auth.login"))


@bp.route("/account/two-factor", methods=["GET", "POST"])
@requires(permissions.can_use_second_factor)
def two_factor():
    """Enrol an authenticator app (a QR code drawn here, and its secret as
    text), confirmed by a current code; or, once enrolled, see how many
    recovery codes are left."""
    user, keys = me(), security.keys()
    if twofactor.is_enrolled(db(), user):
        if request.method == "POST":
            abort(400)
        return _no_store(render_template("auth/two_factor.html", enrolled=True,
                                         left=twofactor.recovery_codes_left(db(), user)))
    if request.method == "POST":
        code = form(CodeForm).code
        if (refused := _refused(user, security.end_session)) is not None:
            return refused
        try:
            codes = twofactor.confirm_enrolment(db(), user, code, keys=keys, now=security.now(),
                                                client=security.client())
        except twofactor.WrongCode:  # a guess: counted like a wrong code at the door
            _failed(user.username, user, "enrolment code")
            flash(_("验证码不正确，请输入手机上当前显示的6位数字"), "error")
            return redirect(url_for("auth.two_factor"))
        except ValidationError:  # nothing to confirm (begun in another tab, reset meanwhile)
            db().rollback()
            flash(_("验证码不正确，请输入手机上当前显示的6位数字"), "error")
            return redirect(url_for("auth.two_factor"))
        security.start_session(user)  # a new session replaces the one a password alone opened
        db().commit()
        return _no_store(render_template("auth/recovery_codes.html", codes=codes, first=True))
    enrolment = twofactor.begin_enrolment(db(), user, keys=keys, now=security.now())
    db().commit()
    qr = segno.make(enrolment.uri, error="m").svg_data_uri(scale=5, dark="#000", light="#fff")
    return _no_store(render_template("auth/two_factor.html", enrolled=False, qr=qr,
                                     secret=enrolment.secret, required=current_user.must_enrol))


@bp.route("/account/two-factor/recovery-codes", methods=["POST"])
@requires(permissions.can_use_second_factor)
def recovery_codes():
    """Ten new recovery codes (the old ones stop working), after a current code."""
    user = me()
    code = form(CodeForm).code
    if (refused := _refused(user, security.end_session)) is not None:
        return refused
    how = twofactor.verify(db(), user, code, keys=security.keys(), now=security.now(),
                           client=security.client())
    if how != "totp":
        if how is None:  # a guess: counted like a wrong code at the door
            _failed(user.username, user, "recovery-codes code")
        else:  # a recovery code does not make new ones: it stays unused
            db().rollback()
        flash(_("验证码不正确，请输入手机上当前显示的6位数字"), "error")
        return redirect(url_for("auth.two_factor"))
    codes = twofactor.regenerate_recovery_codes(db(), user, keys=security.keys(),
                                                now=security.now(), client=security.client())
    db().commit()
    return _no_store(render_template("auth/recovery_codes.html", codes=codes, first=False))


def _no_store(body):
    response = make_response(body)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.route("/lang/<code>", methods=["POST"])
@public
def set_language(code: str):
    if code not in LANGUAGES:
        abort(404)
    back = form(BackTo).next
    session["lang"] = code
    response = redirect(local_target(back, url_for("auth.root")))
    response.set_cookie("lang", code, max_age=365 * 24 * 3600, samesite="Lax", httponly=True)
    return response

"""The Flask extensions every part of the web shares, created once here and
bound to the app by ``web.create_app`` (so the support modules that register
loaders on them never import the app factory, nor through it the views)."""

from __future__ import annotations

from flask_babel import Babel
from flask_login import LoginManager
from flask_wtf.csrf import CSRFProtect

login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()

LANGUAGES = ("zh_CN", "en")

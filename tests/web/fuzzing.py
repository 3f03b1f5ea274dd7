"""A hostile-input walk over every route of the app (the regression campaign
of issue 10's finding 1): each rule of the URL map, each method, as each
audience, with hostile path parameters, form fields, query arguments and
JSON bodies. Anything answering 5xx (or raising) is a finding.

Which fields a route reads is learned, not listed: the app's request class
records every key a view asks of ``request.args``, ``request.form`` or the
JSON body (``web.support.inputs.parse`` asks for each field its model
declares), on a first benign request per route and audience. Then each read
field gets each hostile value in turn (the others benign), and every read
field gets each hostile value at once.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from urllib.parse import quote

from flask import Request
from werkzeug.datastructures import ImmutableMultiDict

HUGE = "99999999999999999999"
MEGABYTE = "x" * (1024 * 1024)

# Values as a form field, a query argument or a path segment carries them.
TEXT_VALUES = ["a\x00b", "a\x1b\x7fb", HUGE, "-" + HUGE, "1e999", "NaN", "-1", "0", "",
               "2026-02-30", "９", "true", MEGABYTE]
# Literals of a JSON body's field (raw JSON text, so 1e999 and NaN get through).
JSON_VALUES = ['"a\\u0000b"', '"a\\u001bb"', HUGE, "-" + HUGE, "1e999", "NaN", "-1", "0",
               '""', "[]", "{}", "true", "null", '"2026-02-30"', '"1e999"',
               json.dumps(MEGABYTE)]
# Whole JSON bodies that are not what any route expects.
# The values each field gets alone (every value goes into all read fields at once).
TEXT_ALONE = ["a\x00b", "a\x1b\x7fb", HUGE, "1e999", ""]
JSON_ALONE = ['"a\\u0000b"', HUGE, "1e999", "[]", "null"]
JSON_BODIES = ["1e999", "[]", '"x"', "{", "null", "NaN", '{"a": 1e999}', "\x00"]
INT_PATH_VALUES = ["999999", HUGE, "9223372036854775808"]
STR_PATH_VALUES = ["a%00b", "%E9%9B", "x" * 2000]
EXTRA_METHODS = ("PUT", "PATCH", "DELETE", "TRACE")

ROLES = ("anonymous", "acme", "alice", "lead", "sup", "admin")
# The fields of a URL are fuzzed as the first audiences (in this order) that
# the route lets read them: the roles it refuses mostly read nothing.
FIELD_ROLES = 2
FIELD_ORDER = ("admin", "acme", "alice", "lead", "sup", "anonymous")
SKIP = {"static", "auth.logout"}  # a logout would end the walk's own session

# Plausible values of the fields the pages send, by name, so that a single
# hostile field is not hidden behind another field's refusal.
BENIGN = {
    "days": "3", "deadline": "2026-03-20", "materials": "营业执照", "assignee": "bob",
    "to": "bob", "kind": "evaluation", "approve": "1", "investment_wan": "100",
    "industry": "equipment_manufacturing", "contacted_on": "2026-03-01", "channel": "visit",
    "limit": "10", "version": "", "public": "0", "step": "intention", "tab": "mine",
    "from": "2026-01-01", "to_day": "2026-03-01",
}


class _Recorded(ImmutableMultiDict):
    """Form and query arguments that note which keys a view asks for."""

    reads: set[str] | None = None

    def _note(self, key):
        if _Recorded.reads is not None:
            _Recorded.reads.add(key)

    def get(self, key, default=None, type=None):  # noqa: A002 - werkzeug's signature
        self._note(key)
        return super().get(key, default, type)

    def getlist(self, key, type=None):  # noqa: A002
        self._note(key)
        return super().getlist(key, type)

    def __getitem__(self, key):
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key):
        self._note(key)
        return super().__contains__(key)


class _RecordedJSON(dict):
    def get(self, key, default=None):
        _Recorded._note(None, key)
        return super().get(key, default)

    def __getitem__(self, key):
        _Recorded._note(None, key)
        return super().__getitem__(key)

    def __contains__(self, key):
        _Recorded._note(None, key)
        return super().__contains__(key)


class RecordingRequest(Request):
    parameter_storage_class = _Recorded

    def get_json(self, *args, **kwargs):
        body = super().get_json(*args, **kwargs)
        return _RecordedJSON(body) if type(body) is dict else body


@dataclass
class Finding:
    role: str
    method: str
    url: str
    what: str
    status: int | str

    def __str__(self) -> str:
        url = self.url if len(self.url) < 160 else self.url[:150] + "…"
        what = self.what if len(self.what) < 160 else self.what[:150] + "…"
        return f"{self.status} {self.role:9} {self.method:6} {url}  [{what}]"


@dataclass
class Walk:
    app: object
    clients: dict  # role -> (client, csrf token)
    path_values: dict  # path parameter name -> a real value
    choices: dict = field(default_factory=dict)  # endpoint -> {param: [values]}
    findings: list[Finding] = field(default_factory=list)
    requests: int = 0
    log: object = None  # a file to write findings to as they come

    def send(self, role: str, method: str, url: str, what: str, *, data=None, query=None,
             body: str | None = None) -> set[str]:
        client, token = self.clients[role]
        headers = {"X-CSRFToken": token} if token else {}
        kwargs = {}
        if body is not None:
            kwargs.update(data=body.encode("utf-8", "surrogatepass"),
                          content_type="application/json")
        elif data is not None:
            kwargs["data"] = dict(data, csrf_token=token) if token else data
        if query:
            kwargs["query_string"] = query
        reads: set[str] = set()
        _Recorded.reads = reads
        self.requests += 1
        try:
            status = client.open(url, method=method, headers=headers, **kwargs).status_code
        except Exception as exc:  # noqa: BLE001 - an exception is a finding like a 500
            status = f"raised {type(exc).__name__}: {str(exc)[:120]}"
        finally:
            _Recorded.reads = None
        if not isinstance(status, int) or status >= 500:
            self.findings.append(Finding(role, method, url, what, status))
            if self.log:
                print(self.findings[-1], file=self.log, flush=True)
        return reads - {"csrf_token"}

    # -- the walk ---------------------------------------------------------------------------

    def urls(self, rule) -> list[tuple[str, str]]:
        """The rule's URL with real values, then with each path parameter hostile."""
        params = list(rule.arguments)
        good = {p: self.good_value(rule.endpoint, p) for p in params}
        urls = [(self.build(rule, good), "good path")]
        for p in params:
            hostile = INT_PATH_VALUES if self.is_int(rule, p) else STR_PATH_VALUES
            for value in hostile:
                urls.append((self.build(rule, dict(good, **{p: value})), f"{p}={value[:40]}"))
        return urls

    def good_value(self, endpoint: str, param: str) -> str:
        values = self.choices.get(endpoint, {}).get(param)
        if values:
            return values[0]
        return str(self.path_values.get(param, "1"))

    @staticmethod
    def is_int(rule, param: str) -> bool:
        return type(rule._converters[param]).__name__ == "IntegerConverter"

    @staticmethod
    def build(rule, values: dict[str, str]) -> str:
        def one(match):
            name = match.group(2)
            value = values[name]
            return value if "%" in value else quote(value, safe="")
        return re.sub(r"<(?:(\w+):)?(\w+)>", one, rule.rule)

    def walk(self, rule) -> None:
        methods = sorted(rule.methods - {"HEAD", "OPTIONS"})
        is_api = rule.rule.startswith("/api/")
        for method in EXTRA_METHODS:
            if method not in rule.methods:
                self.send("anonymous", method, self.build(rule, {
                    p: self.good_value(rule.endpoint, p) for p in rule.arguments}), "method")
        for method in methods:
            fuzzed: dict[str, int] = {}  # URL -> audiences whose fields were fuzzed
            for role in FIELD_ORDER:
                for url, what in self.urls(rule):
                    self.send(role, method, url, what, **self.benign(method, is_api, set()))
                for url in [self.urls(rule)[0][0], *self.variants(rule)]:
                    reads = self.send(role, method, url, "benign",
                                      **self.benign(method, is_api, set()))
                    if reads and fuzzed.get(url, 0) < FIELD_ROLES:
                        fuzzed[url] = fuzzed.get(url, 0) + 1
                        self.fields(role, method, url, is_api, reads)

    def variants(self, rule) -> list[str]:
        """Other real values of a path parameter that selects behaviour (the action)."""
        out = []
        for param, values in self.choices.get(rule.endpoint, {}).items():
            for value in values[1:]:
                good = {p: self.good_value(rule.endpoint, p) for p in rule.arguments}
                out.append(self.build(rule, dict(good, **{param: value})))
        return out

    def benign(self, method: str, is_api: bool, fields: set[str]) -> dict:
        values = {f: BENIGN.get(f, "1") for f in fields}
        if is_api and method == "POST":
            return {"body": json.dumps(values)}
        return {"query": values} if method == "GET" else {"data": values}

    def fields(self, role: str, method: str, url: str, is_api: bool, reads: set[str]) -> None:
        json_body = is_api and method == "POST"
        if json_body:
            for body in JSON_BODIES:
                self.send(role, method, url, f"body={body}", body=body)
        values = JSON_VALUES if json_body else TEXT_VALUES
        alone = JSON_ALONE if json_body else TEXT_ALONE
        for value in values:
            # every read field hostile at once, then each alone
            self.send(role, method, url, f"all={value[:30]!r}",
                      **self.hostile(method, json_body, reads, {f: value for f in reads}))
            if len(reads) > 1 and value in alone:
                for f in sorted(reads):
                    self.send(role, method, url, f"{f}={value[:30]!r}",
                              **self.hostile(method, json_body, reads, {f: value}))

    def hostile(self, method: str, json_body: bool, reads: set[str], bad: dict) -> dict:
        if json_body:
            parts = [f"{json.dumps(f)}: {bad[f]}" if f in bad else
                     f"{json.dumps(f)}: {json.dumps(BENIGN.get(f, '1'))}" for f in sorted(reads)]
            return {"body": "{" + ", ".join(parts) + "}"}
        values = {f: bad.get(f, BENIGN.get(f, "1")) for f in reads}
        return {"query": values} if method == "GET" else {"data": values}


def run(walk: Walk, rules) -> Walk:
    for rule in rules:
        if rule.endpoint in SKIP:
            continue
        walk.walk(rule)
    return walk

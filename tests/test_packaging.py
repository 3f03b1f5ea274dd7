"""Installing and starting Daiban (issue 12, item 13): the package carries its
data (templates, static files, translations, migrations, the zone's TOML)
with no setuptools warning, and `make demo PORT=…` serves on that port."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("workflow", "definitions", "web", "demo")


def sources(tmp_path: Path) -> Path:
    """A copy of what the package is built from (not the working tree: the
    build writes beside its sources)."""
    copy = tmp_path / "src"
    copy.mkdir()
    for name in ("setup.cfg", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, copy / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, copy / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return copy


def test_the_package_carries_its_data_without_a_setuptools_warning(tmp_path):
    """setuptools' own build step (what `pip install` runs), warnings as errors:
    every file of the packages is built except the folders' notes (*.md)."""
    copy = sources(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    built = subprocess.run(
        [sys.executable, "-W", "error", "-c", "from setuptools import setup; setup()",
         "build_py", "--build-lib", str(tmp_path / "lib")],
        cwd=copy, env=env, capture_output=True, text=True, timeout=300)
    said = built.stdout + built.stderr
    assert built.returncode == 0, said
    # What setuptools said besides naming the files it copies (a file's name may hold the word).
    notes = [line for line in said.splitlines()
             if not line.startswith(("running ", "copying ", "creating "))]
    assert not [line for line in notes if "warning" in line.lower() or "would be ignored" in line
                ], said
    wanted = {p.relative_to(copy).as_posix() for package in PACKAGES
              for p in (copy / package).rglob("*") if p.is_file() and p.suffix != ".md"}
    got = {p.relative_to(tmp_path / "lib").as_posix()
           for p in (tmp_path / "lib").rglob("*") if p.is_file() and p.suffix != ".pyc"}
    assert wanted - got == set()
    for kind in ("web/templates/base.html", "web/static/app.css",
                 "web/translations/en/LC_MESSAGES/messages.mo",
                 "workflow/migrations/versions/0021_lists.py"):
        assert kind in got, kind


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_make_demo_serves_on_the_port_it_is_given(tmp_path):
    """`make demo PORT=…` (this interpreter's environment standing in for
    .venv, already installed) seeds a fresh database and answers there."""
    assert "PORT ?= 5000" in (ROOT / "Makefile").read_text()
    assert "make demo PORT=8080" in (ROOT / "README.md").read_text()
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    port = free_port()
    venv = Path(sys.prefix)
    command = ["make", "-s", "-o", str(venv / ".installed"), "demo", f"PORT={port}",
               f"VENV={venv}"]
    dry = subprocess.run([*command[:1], "-n", *command[1:]], cwd=ROOT, capture_output=True,
                         text=True, timeout=60)
    assert f"--port {port}" in dry.stdout, dry.stdout + dry.stderr
    env = {**os.environ, "DAIBAN_INSTANCE": str(tmp_path / "instance"),
           "DATABASE_URL": f"sqlite:///{tmp_path / 'demo.sqlite3'}"}
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        page = None
        deadline = time.monotonic() + 600  # seeding on a loaded machine; not a timing check
        while page is None and server.poll() is None and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/login", timeout=10) as answer:
                    page = (answer.status, answer.read().decode())
            except OSError:
                time.sleep(0.5)
        assert page is not None, f"nothing answered on {port}; exit {server.poll()}"
        assert page[0] == 200 and "代办" in page[1]
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        output, _ = server.communicate(timeout=60)
    assert f"open http://127.0.0.1:{port}/" in output

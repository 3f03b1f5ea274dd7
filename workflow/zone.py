"""The zone's engine with every reform area plugged in.

The core runs on its own; the areas add their rules to it through
``workflow.core.hooks`` when they are imported. Whatever runs operations —
the web application, the CLI, the scheduler, the tests, the benchmark —
imports this module first.
"""

from __future__ import annotations

from workflow.core import hooks
from workflow.reforms import (
    baolian,
    chemicals,
    commitments,
    documents,
    fees,
    intentions,
    land,
    ratings,
    requests,
)

AREAS = (commitments, land, chemicals, intentions, documents, ratings, requests, baolian, fees)

hooks.mark_installed()

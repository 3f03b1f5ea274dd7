"""Benchmarks of the engine, each a ratio against hand-written SQL run side by
side in the same process (``python -m bench``; see bench/README.md).

Nothing here is imported by the engine or the tests, and no test asserts a
timing: the figures are recorded in bench/README.md and in
``bench/results/latest-<db>.json`` (git-ignored).
"""

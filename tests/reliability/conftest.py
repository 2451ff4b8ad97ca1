"""Reliability tests reuse the end-to-end fixtures (fresh simulators and a fresh sync each)."""

from tests.e2e.conftest import make_project  # noqa: F401

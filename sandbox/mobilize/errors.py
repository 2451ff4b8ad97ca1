"""Mobilize's error answers: ``{"data": null, "error": {...}}`` in Django REST Framework's
words, raised anywhere in a request and answered by the app."""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """Answered as ``{"data": null, "error": error}`` with ``status``."""

    def __init__(self, status: int, error: Any) -> None:
        super().__init__(status, error)
        self.status = status
        self.error = error


def not_found() -> ApiError:
    return ApiError(404, {"detail": "Not found."})


def forbidden(detail: str = "You do not have permission to perform this action.") -> ApiError:
    return ApiError(403, {"detail": detail})

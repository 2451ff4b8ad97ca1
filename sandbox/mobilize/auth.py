"""API keys: ``Authorization: Bearer <key>``, and the routes that need one.

A header that is present but malformed or carries a wrong key is 403 on every route, the
optional-auth ones included; only an absent header falls back to anonymous access. The
key grants dashboard permission for the served organization only.
"""

from __future__ import annotations

from sandbox.mobilize.errors import forbidden
from sandbox.server.messages import Request

DEFAULT_API_KEY = "sandbox-mobilize-key"


def authenticate(request: Request, api_key: str) -> bool:
    """Whether the request carries the key; False when it sends no header at all."""
    header = request.headers.get("Authorization")
    if header is None:
        return False
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise forbidden("Invalid authorization header.")
    if token.strip() != api_key:
        raise forbidden("Invalid token.")
    return True


def require_key(authed: bool, org: int, own_org: int) -> None:
    """403 unless the caller has the key and asks about the organization it is for."""
    if not authed:
        raise forbidden("Authentication credentials were not provided.")
    if org != own_org:
        raise forbidden()

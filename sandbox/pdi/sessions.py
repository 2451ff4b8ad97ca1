"""``POST /sessions`` and the bearer tokens every other route wants."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sandbox.pdi.binding import Body, Invalid, error, format_datetime, pascal
from sandbox.pdi.routing import Route, route
from sandbox.server.messages import Request, Response

DEFAULT_USERNAME = "sandbox"
DEFAULT_PASSWORD = "sandbox-password"  # noqa: S105 - public sandbox credential
DEFAULT_API_TOKEN = "sandbox-token"  # noqa: S105 - public sandbox credential

MSG_BAD_LOGIN = "Invalid username, password or api token."
MSG_DENIED = "Authorization has been denied for this request."


class Account(Protocol):
    """The account a login must name; read at each login, so a test may change it."""

    username: str
    password: str
    api_token: str
    token_ttl_seconds: float
    naive_expiration: bool


class Sessions:
    """The tokens issued, live and ever (for tests that search logs and files for secrets)."""

    def __init__(self, account: Account) -> None:
        self.account = account
        self.live: dict[str, float] = {}  # token -> expiry (epoch seconds)
        self.issued: list[str] = []

    def routes(self) -> list[Route]:
        return [route("POST", "/sessions", self.post_session, auth=False)]

    def post_session(self, request: Request, _ids: list[str]) -> Response:
        body = Body(request.json())
        username = body.string("username", required=True)
        password = body.string("password", required=True)
        api_token = body.string("apiToken", required=True)
        if body.errors:
            # PascalCase in messages and modelState, as the request uses PascalCase.
            raise Invalid({pascal(k): v for k, v in body.errors.items()})
        account = self.account
        if (username, password, api_token) != (
            account.username,
            account.password,
            account.api_token,
        ):
            return error(401, MSG_BAD_LOGIN)
        token = secrets.token_urlsafe(32)
        expires = datetime.now(UTC) + timedelta(seconds=account.token_ttl_seconds)
        self.live[token] = expires.timestamp()
        self.issued.append(token)
        expiration = format_datetime(expires)
        if account.naive_expiration:
            expiration = expiration.removesuffix("Z")
        return Response(200, {"AccessToken": token, "ExpirationDate": expiration})

    def authorized(self, request: Request) -> bool:
        header = request.headers.get("Authorization") or ""
        scheme, _, token = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return False
        expiry = self.live.get(token.strip())
        if expiry is None:
            return False
        if time.time() >= expiry:
            del self.live[token.strip()]
            return False
        return True

    def expire_all(self) -> int:
        """Invalidate every live token (to test re-login); how many there were."""
        count = len(self.live)
        self.live.clear()
        return count

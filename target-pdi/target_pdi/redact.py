"""Keep secrets (password, api_token, bearer tokens) out of logs, errors, dead letters."""

from __future__ import annotations

import re
import threading
from typing import Any

MASK = "***"
_lock = threading.Lock()
_secrets: set[str] = set()

# JSON-ish `"password": "..."`, `ApiToken=...`, and `Bearer <token>` wherever they appear.
_KEYED = re.compile(
    r"""(?ix)
    (["']?(?:password|api_?token|access_?token|token|secret|authorization)["']?\s*[:=]\s*)
    ("[^"]*"|'[^']*'|[^\s,;&}]+)
    """
)
# A token is long; "Bearer of good news" is not one.
_BEARER = re.compile(r"(?i)(bearer\s+)[A-Za-z0-9._~+/=-]{16,}")


def register_secret(value: Any) -> None:
    """Remember a secret value so every later redact() masks it, whatever the context."""
    if isinstance(value, str) and len(value) >= 4:
        with _lock:
            _secrets.add(value)


def redact(text: Any, *, limit: int | None = None) -> str:
    out = "" if text is None else str(text)
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        out = out.replace(secret, MASK)
    out = _BEARER.sub(lambda m: m.group(1) + MASK, out)
    out = _KEYED.sub(
        lambda m: m.group(1) + (f'"{MASK}"' if m.group(2).startswith('"') else MASK), out
    )
    if limit is not None and len(out) > limit:
        out = out[:limit] + f"...[truncated {len(out) - limit} chars]"
    return out

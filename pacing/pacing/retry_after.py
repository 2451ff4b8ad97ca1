"""Retry-After: the wait a server asks for, parsed by urllib3 (seconds or an HTTP date), capped."""

from __future__ import annotations

from collections.abc import Mapping

from urllib3.exceptions import InvalidHeader
from urllib3.util import Retry

# A Retry-After beyond this is treated as a misconfigured proxy, not as advice to idle.
RETRY_AFTER_CAP_SECONDS = 600

_PARSER = Retry(retry_after_max=RETRY_AFTER_CAP_SECONDS)


def retry_after(headers: Mapping[str, str] | None) -> float | None:
    """Seconds the ``Retry-After`` header asks to wait (0 for a date past), or None.

    None when there is no header or it is neither whole seconds nor an HTTP date (RFC 9110);
    the caller then uses its own default pause. ``headers`` is case-insensitive when it is a
    ``requests`` or ``urllib3`` header mapping.
    """
    if not headers:
        return None
    value = headers.get("Retry-After")
    if not value:
        return None
    try:
        return float(_PARSER.parse_retry_after(value))
    except InvalidHeader:
        return None

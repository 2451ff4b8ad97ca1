"""The list and single-object envelopes, and paging through a list: ``per_page``/``page``
and the keyed cursor.

``next``/``previous`` are absolute URLs built from the request's Host that repeat every
query parameter of the request (``page``/``cursor`` excepted) plus ``cursor``: URL-safe
base64 of ``a=<key>`` (rows after that sort key) or ``b=<key>`` (rows before it). Being
keyed rather than positional, a followed ``next`` neither repeats nor skips rows when rows
are added or removed meanwhile.
"""

from __future__ import annotations

import base64
import binascii
import bisect
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlencode

from sandbox.datagen.dataset import Record
from sandbox.mobilize.errors import ApiError
from sandbox.mobilize.params import Params
from sandbox.server.messages import Request, Response

DEFAULT_PER_PAGE = 25
# Search-backend results (zipcode, max_dist, exclude_full, tag_id) page through this many.
SEARCH_LIMIT = 1000

Rows = tuple[list[int], list[Record]]  # sort keys (ascending) and the rows they key


def encode_cursor(direction: str, key: int) -> str:
    return base64.urlsafe_b64encode(f"{direction}={key}".encode()).decode().rstrip("=")


def decode_cursor(token: str) -> tuple[str, int]:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        direction, _, value = raw.partition("=")
        if direction not in ("a", "b"):
            raise ValueError(raw)
        return direction, int(value)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(404, {"detail": "Invalid cursor"}) from exc


def metadata(url_name: str) -> dict[str, Any]:
    return {"url_name": url_name, "build_commit": "sandbox", "page_title": None}


def single(data: Any, url_name: str) -> Response:
    return Response(200, {"data": data, "metadata": metadata(url_name)})


def page(
    request: Request,
    rows: Rows,
    url_name: str,
    max_per_page: int,
    render: Callable[[Record], Record] = dict,
    limited: bool = False,
) -> Response:
    """One page of ``rows`` (``limited``: a search-backend result, capped at SEARCH_LIMIT
    rows while ``count`` still reports them all)."""
    params = Params(request)
    per_page = params.integer("per_page", minimum=1) or DEFAULT_PER_PAGE
    per_page = min(per_page, max_per_page)
    keys, records = rows
    total = len(records)
    if limited:
        keys, records = keys[:SEARCH_LIMIT], records[:SEARCH_LIMIT]
    start = _start(params, keys, len(records), per_page)
    end = min(start + per_page, len(records))
    body: dict[str, Any] = {
        "count": total,
        "next": _link(request, "a", keys[end - 1]) if end < len(records) else None,
        "previous": _link(request, "b", keys[start]) if 0 < start < len(records) else None,
        "data": [render(r) for r in records[start:end]],
        "metadata": metadata(url_name),
        "is_custom_domain": False,
    }
    if limited:
        body["results_limited_to"] = SEARCH_LIMIT
    return Response(200, body)


def _start(params: Params, keys: list[int], length: int, per_page: int) -> int:
    """The first row of the page the cursor (or else ``page``) asks for."""
    cursor = params.one("cursor")
    if cursor:
        direction, key = decode_cursor(cursor)
        if direction == "a":
            return bisect.bisect_right(keys, key)
        return max(0, bisect.bisect_left(keys, key) - per_page)
    raw_page = params.one("page")
    number = 1
    if raw_page not in (None, ""):
        try:
            number = int(raw_page or "1")
        except ValueError as exc:
            raise ApiError(404, {"detail": "Invalid page."}) from exc
    start = (number - 1) * per_page
    if number < 1 or (number > 1 and start >= length):
        raise ApiError(404, {"detail": "Invalid page."})
    return start


def _link(request: Request, direction: str, key: int) -> str:
    pairs = [
        (k, v)
        for k, v in parse_qsl(request.raw_query, keep_blank_values=True)
        if k not in ("cursor", "page")
    ]
    pairs.append(("cursor", encode_cursor(direction, key)))
    return f"{request.base_url}{request.path}?{urlencode(pairs)}"

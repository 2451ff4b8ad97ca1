"""Retry-After, as seconds or an HTTP date, parsed by urllib3 and capped."""

from __future__ import annotations

import time
from email.utils import formatdate

import pytest
from pacing.retry_after import RETRY_AFTER_CAP_SECONDS, retry_after
from urllib3 import HTTPHeaderDict


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ({"Retry-After": "7"}, 7.0),
        ({"Retry-After": " 0 "}, 0.0),
        ({}, None),
        (None, None),
        ({"Retry-After": ""}, None),
        ({"Retry-After": "soon"}, None),
        ({"Retry-After": "99999"}, float(RETRY_AFTER_CAP_SECONDS)),
        ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, 0.0),  # a date past: no wait
    ],
)
def test_retry_after(headers, expected):
    assert retry_after(headers) == expected


def test_an_http_date_is_the_seconds_until_it():
    in_a_minute = formatdate(time.time() + 60, usegmt=True)
    assert retry_after({"Retry-After": in_a_minute}) == pytest.approx(60, abs=2)


def test_the_header_name_is_case_insensitive_in_response_headers():
    assert retry_after(HTTPHeaderDict({"retry-after": "3"})) == 3.0

"""PDI's opaque ids: base64 of 16 bytes, deterministic per seed."""

from __future__ import annotations

import base64
import binascii
import hashlib
import re

_ID_RE = re.compile(r"^[A-Za-z0-9+/]{22}==$")


def is_valid_id(value: str) -> bool:
    """True for a 24-char standard base64 string that decodes to 16 bytes."""
    if not _ID_RE.match(value):
        return False
    try:
        return len(base64.b64decode(value, validate=True)) == 16
    except (binascii.Error, ValueError):
        return False


def encode_id(digest: bytes) -> str:
    # Guess: PDI ids are standard base64; '/' in an id cannot travel in a URL path
    # without %2F (which ASP.NET/IIS handle badly), so the simulator never issues one.
    raw = bytearray(digest[:16])
    text = base64.b64encode(bytes(raw)).decode()
    while "/" in text:
        raw = bytearray(hashlib.sha256(bytes(raw)).digest()[:16])
        text = base64.b64encode(bytes(raw)).decode()
    return text


def numbered_id(seed: int, number: int) -> str:
    """The id of the ``number``-th object the simulator made."""
    return encode_id(hashlib.sha256(f"pdi-sandbox:{seed}:{number}".encode()).digest())


def calendar_id(seed: int, name: str) -> str:
    """A calendar's id: derived from its name, so it is stable."""
    return encode_id(hashlib.sha256(f"pdi-calendar:{seed}:{name}".encode()).digest())

"""Mobilize's and PDI's values as the sync reads, hashes and compares them: ids, epoch times,
PDI's datetimes, the values fields.yml mapped, and the content hash the id map keeps.

Pure functions, no I/O: the payloads of each PDI object (`payloads.py` for locations and events,
`people_payloads.py` for contacts, phones and invitations) are made of them.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from target_pdi.rules.vocabulary import mapped_property

Record = Mapping[str, Any]


def mapped(record: Record, pdi_field: str) -> str | None:
    """The value mappings/fields.yml computed for ``pdi_field`` (e.g. "Event.name").

    The target's stream maps add one ``pdi_*`` property per mapped field; None means the
    field is not mapped and the built-in rule applies.
    """
    key = mapped_property(pdi_field)
    if key not in record:
        return None
    value = record[key]
    return "" if value is None else str(value).strip()


def stripped(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def as_object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def as_number(value: Any) -> float | None:
    """A coordinate as float. singer-sdk parses JSON numbers as Decimal, so accept those too."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def to_epoch(value: Any) -> int | None:
    """Mobilize dates are integer epoch seconds; tolerate floats, digit strings, ISO strings.
    None for what is no date at all (NaN and infinities too: no record may stop a run)."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal):
        return int(value) if value.is_finite() else None
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else None
    if isinstance(value, datetime):
        dt = value if value.tzinfo else value.replace(tzinfo=UTC)
        return int(dt.timestamp())
    if isinstance(value, str) and value.strip():
        text = value.strip()
        if re.fullmatch(r"-?\d+(\.\d+)?", text, re.ASCII):
            return int(Decimal(text))
        try:
            dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        dt = dt if dt.tzinfo else dt.replace(tzinfo=UTC)
        return int(dt.timestamp())
    return None


# The times a PDI event may hold, in epoch seconds: from 1970 to the end of year 9999, where
# PDI's dates (and Python's) end. Mobilize's are epoch seconds after 1970; anything outside is
# no time at all, such as a start in epoch milliseconds (1793000000000 is year 58787).
EARLIEST_EPOCH = 0
LATEST_EPOCH = 253402300799  # 9999-12-31T23:59:59Z


def check_epoch(epoch: int, what: str) -> int:
    """``epoch`` if PDI can hold it; a ValueError naming ``what`` otherwise."""
    if not EARLIEST_EPOCH <= epoch <= LATEST_EPOCH:
        raise ValueError(
            f"{what} {epoch} is no time PDI can hold (epoch seconds from 1970 to 9999 expected)"
        )
    return epoch


def pdi_datetime(epoch: int) -> str:
    """PDI event datetimes: UTC, `yyyy-MM-ddTHH:mm:ss.fffZ`."""
    dt = datetime.fromtimestamp(check_epoch(epoch, "time"), tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def pdi_date(epoch: int) -> str:
    """PDI list filters (`startDate`/`endDate`): `yyyy-MM-dd`, within the times PDI holds."""
    epoch = min(max(epoch, EARLIEST_EPOCH), LATEST_EPOCH)
    return datetime.fromtimestamp(epoch, tz=UTC).strftime("%Y-%m-%d")


def parse_pdi_datetime(value: Any) -> datetime | None:
    """Parse a PDI datetime (Z, offset or naive=UTC) for comparisons with what we would send."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        dt = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def json_default(value: Any) -> Any:
    """JSON for what singer-sdk hands us: Decimal numbers, parsed datetimes."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def content_hash(payload: Mapping[str, Any]) -> str:
    """Stable hash of a payload: the id map stores it to skip writes whose content is unchanged."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=json_default)
    return hashlib.sha256(text.encode()).hexdigest()


def mobilize_id(value: Any) -> int | None:
    """Ids are ints; masked (firewalled) objects carry null ids."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value == value.to_integral_value():
        return int(value)
    # ASCII digits only: "²" is a digit to str.isdigit() and no number to int().
    if isinstance(value, str) and re.fullmatch(r"\d+", value.strip(), re.ASCII):
        return int(value.strip())
    return None


# --- Comparing what PDI has with what we would write (used after id-map loss) -------------------


def _norm(key: str, value: Any) -> Any:
    if key.endswith("DateTimeUtc"):
        return parse_pdi_datetime(value)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    if key.endswith("Id") or key in ("id",):
        return "" if value is None else str(value)
    if value is None:
        return ""
    if isinstance(value, str):
        return value.strip()
    return value


def same_content(found: Mapping[str, Any], desired: Mapping[str, Any]) -> bool:
    """True when every desired field PDI reports has the desired value.

    Keys are compared case-insensitively (PDI binds either case). A field PDI does not return at all
    cannot be checked and is not a reason for a PUT.
    """
    lowered = {str(k).lower(): v for k, v in found.items()}
    for key, want in desired.items():
        if key.lower() not in lowered:
            continue
        if _norm(key, lowered[key.lower()]) != _norm(key, want):
            return False
    return True

"""`tap-mobilize --test` (connection_test.py): one answer line on stdout, never a record."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from tap_mobilize.tap import TapMobilize

PERSON = {
    "id": 31,
    "given_name": "Ann",
    "family_name": "Okafor",
    "email_addresses": [{"primary": True, "address": "ann.okafor@example.org"}],
    "phone_numbers": [{"primary": True, "number": "5550104477"}],
    "modified_date": 100,
}


@pytest.fixture
def tap_test(tmp_path, capsys) -> Callable[..., tuple[int, str, str]]:
    """Runs `tap-mobilize --config <file> --test <args>`: (exit code, stdout, stderr)."""

    def run(config: dict[str, Any], *args: str) -> tuple[int, str, str]:
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config))
        code = TapMobilize.cli.main(
            args=["--config", str(path), "--test", *args], standalone_mode=False
        )
        out = capsys.readouterr()
        return int(code or 0), out.out, out.err

    return run


def test_a_key_that_reads_everything_is_said_and_no_record_is_printed(
    mobilize, config, make_event, tap_test, caplog
) -> None:
    mobilize.pages["/organizations/7/events"] = [[make_event(1, 100)]]
    mobilize.pages["/organizations/7/people"] = [[PERSON]]
    code, out, err = tap_test(config)
    assert code == 0, caplog.text
    assert out.splitlines() == [
        "OK: the API key reads organization 7's events, people and attendances at "
        "https://api.mobilize.test/v1"
    ]
    assert "/v1/organizations/7/people" in mobilize.paths_called()  # really read with the key
    for personal in ("Ann", "Okafor", "ann.okafor@example.org", "5550104477"):
        assert personal not in out + err + caplog.text


def test_without_a_key_it_passes_and_says_what_is_not_read(mobilize, config, tap_test) -> None:
    code, out, _ = tap_test({**config, "api_key": ""})
    assert code == 0
    assert out.splitlines() == [
        "OK, without an api_key: organization 7's public events only, at "
        "https://api.mobilize.test/v1; people and attendances need a key (set api_key)"
    ]


def test_a_refused_key_answers_failed_with_the_taps_error(mobilize, config, tap_test) -> None:
    mobilize.failures["/organizations"] = [(403, {}, None)]
    code, out, _ = tap_test(config)
    assert code == 1
    assert out.splitlines() == [
        "FAILED: Mobilize refused the request (HTTP 403) for organization 7 on "
        "/v1/organizations: check the api_key setting (and that it has dashboard access to "
        "organization_id 7)"
    ]


def test_a_missing_setting_answers_failed_without_a_traceback(
    mobilize, config, tap_test, caplog
) -> None:
    del config["organization_id"]
    code, out, _ = tap_test(config)
    assert code == 1
    assert out.splitlines() == ["FAILED: invalid config: 'organization_id' is a required property"]
    assert [r.exc_info for r in caplog.records if r.levelname == "ERROR"] == [None]


def test_schema_mode_is_singer_sdks(mobilize, config, tap_test) -> None:
    code, out, _ = tap_test(config, "--test=schema")
    assert code == 0
    assert {json.loads(line)["type"] for line in out.splitlines()} == {"SCHEMA"}
    assert mobilize.calls == []

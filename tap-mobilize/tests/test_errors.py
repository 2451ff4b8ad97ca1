"""Retries, throttling and the messages a user sees when something is wrong."""

from __future__ import annotations

import io
import json
import logging
import socket
from contextlib import redirect_stdout

import pytest

from tap_mobilize.errors import MobilizeFatalError
from tap_mobilize.tap import TapMobilize

EVENTS = "/organizations/7/events"


def test_429_waits_for_retry_after_then_recovers(mobilize, run_tap, config, sleeps, make_event):
    mobilize.failures[EVENTS] = [(429, {"Retry-After": "7"}, {"data": None, "error": {}})]
    mobilize.pages[EVENTS] = [[make_event(1, 100)]]

    result = run_tap(config, streams=["events"])

    assert [r["id"] for r in result.records("events")] == [1]
    assert sleeps == [7]  # exactly the server's wait: a shared pause needs no jitter


def test_429_without_retry_after_pauses_about_a_second(
    mobilize, run_tap, config, sleeps, make_event
):
    mobilize.failures[EVENTS] = [(429, {}, None)] * 3
    mobilize.pages[EVENTS] = [[make_event(1, 100)]]

    # A ceiling of 10/s: halved three times it still spaces requests under a second.
    result = run_tap({**config, "max_requests_per_second": 10}, streams=["events"])

    assert len(result.records("events")) == 1
    assert sleeps == [1, 1, 1]


def test_5xx_is_retried_and_recovers(mobilize, run_tap, config, sleeps, make_event):
    mobilize.failures[EVENTS] = [(503, {}, None), (502, {}, {"detail": "bad gateway"})]
    mobilize.pages[EVENTS] = [[make_event(1, 100)], [make_event(2, 100)]]

    result = run_tap(config, streams=["events"])

    assert [r["id"] for r in result.records("events")] == [1, 2]
    assert len(sleeps) == 2
    assert "Retrying in" in result.log


def test_5xx_that_never_ends_fails_with_a_clear_message(mobilize, run_tap, config, sleeps):
    mobilize.failures[EVENTS] = [(500, {}, None)] * 10

    with pytest.raises(MobilizeFatalError) as excinfo:
        run_tap({**config, "backoff_max_tries": 4}, streams=["events"])

    message = str(excinfo.value)
    assert message.startswith("Mobilize kept failing after 4 attempts: HTTP 500")
    assert "\n" not in message
    assert len(mobilize.calls_to(EVENTS)) == 4


def test_403_is_fatal_and_names_the_setting_without_printing_the_key(
    mobilize, run_tap, config, sleeps
):
    mobilize.failures[EVENTS] = [(403, {}, {"data": None, "error": {"detail": "denied"}})]

    with pytest.raises(MobilizeFatalError) as excinfo:
        run_tap(config, streams=["events"])

    message = str(excinfo.value)
    assert message == (
        "Mobilize refused the request (HTTP 403) for organization 7 on /v1/organizations/7/"
        "events: check the api_key setting (and that it has dashboard access to "
        "organization_id 7)"
    )
    assert sleeps == []  # not retried
    assert config["api_key"] not in message


def test_404_points_at_organization_id(mobilize, run_tap, config):
    mobilize.failures[EVENTS] = [(404, {}, {"data": None, "error": {"detail": "Not found."}})]
    with pytest.raises(MobilizeFatalError, match="check the organization_id setting"):
        run_tap(config, streams=["events"])


def test_cli_prints_one_line_on_403_and_exits_1(mobilize, config, tmp_path, capsys, caplog):
    mobilize.failures[EVENTS] = [(403, {}, None)]
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))

    with pytest.raises(SystemExit) as excinfo:
        TapMobilize.cli.main(
            args=["--config", str(config_file), "--catalog", str(_catalog(tmp_path, config))],
            standalone_mode=False,
        )

    assert excinfo.value.code == 1
    errors = [r for r in caplog.records if r.levelname == "ERROR" and "HTTP 403" in r.message]
    assert len(errors) == 1
    assert errors[0].exc_info is None  # no traceback for a settings problem
    assert "check the api_key setting" in errors[0].message
    captured = capsys.readouterr()
    assert config["api_key"] not in captured.out + captured.err + caplog.text


def _catalog(tmp_path, config):
    """A catalog selecting only events, so the CLI run touches one endpoint."""
    tap = TapMobilize(config=config, parse_env_config=False)
    catalog = tap.catalog_dict
    for entry in catalog["streams"]:
        for meta in entry["metadata"]:
            if meta["breadcrumb"] == []:
                meta["metadata"]["selected"] = entry["tap_stream_id"] == "events"
    path = tmp_path / "catalog.json"
    path.write_text(json.dumps(catalog))
    return path


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_test_mode_on_connection_refused_fails_fast_naming_api_url(
    config, tmp_path, caplog, sleeps
):
    port = _closed_port()
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps({**config, "api_url": f"http://127.0.0.1:{port}/v1"}))

    # `--test` ends with click's exit: its code is returned outside standalone mode.
    code = TapMobilize.cli.main(
        args=["--config", str(config_file), "--test"], standalone_mode=False
    )

    assert code == 1
    errors = [r.message for r in caplog.records if r.levelname == "ERROR"]
    assert (
        f"Could not reach the Mobilize API at http://127.0.0.1:{port} after 3 attempts "
        "(ConnectionError): check the api_url setting and the network"
    ) in errors
    assert len(sleeps) == 2  # --test gives up after 3 attempts, not 8


def test_test_mode_on_403_names_the_api_key_setting(mobilize, config, tmp_path, caplog):
    mobilize.failures["/organizations"] = [(403, {}, None)]
    config_file = tmp_path / "config.json"
    config_file.write_text(json.dumps(config))

    code = TapMobilize.cli.main(
        args=["--config", str(config_file), "--test"], standalone_mode=False
    )

    assert code == 1
    assert any(
        "HTTP 403" in r.message and "check the api_key setting" in r.message for r in caplog.records
    )


def test_the_api_key_never_reaches_logs_or_output(mobilize, config, sleeps, make_event, caplog):
    mobilize.failures[EVENTS] = [(503, {}, None), (429, {"Retry-After": "1"}, None)]
    mobilize.pages[EVENTS] = [[make_event(1, 100)], [make_event(2, 100)]]
    mobilize.failures["/organizations/7/people"] = [(403, {}, {"error": {"detail": "no"}})]
    caplog.set_level(logging.DEBUG)
    out = io.StringIO()

    tap = TapMobilize(config=config, parse_env_config=False)
    with redirect_stdout(out), pytest.raises(MobilizeFatalError) as excinfo:
        tap.sync_all()

    secret = config["api_key"]
    assert "HTTP 403" in str(excinfo.value)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    event_ids = [
        m["record"]["id"] for m in records if m.get("stream") == "events" and m["type"] == "RECORD"
    ]
    assert event_ids == [1, 2]  # events got through the 503 and the 429
    assert "Retrying in" in caplog.text
    for text in (out.getvalue(), caplog.text, str(excinfo.value), " ".join(mobilize.calls)):
        assert secret not in text


def test_next_link_to_a_foreign_host_is_refused(mobilize, run_tap, config, make_event):
    mobilize.next_base = "https://evil.example/v1"
    mobilize.pages[EVENTS] = [[make_event(1, 100)], [make_event(2, 100)]]
    with pytest.raises(MobilizeFatalError, match="refusing to send the API key"):
        run_tap(config, streams=["events"])
    assert len(mobilize.calls) == 1

"""The alert sensors against a webhook on 127.0.0.1: what they post, when they post nothing,
and that the webhook's address (its secret) never shows in what they raise."""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from threading import Thread
from typing import Any

import dagster as dg
import pytest
from mobilize_pdi_dagster.alerts import (
    UI_URL_VARIABLE,
    WEBHOOK_VARIABLE,
    AlertNotSent,
    alert_on_failed_checks,
    alert_on_run_failure,
)
from mobilize_pdi_dagster.sync_asset import ORGANIZATION_TAG

KEY = dg.AssetKey(["pdi", "north"])
SECRET = "T000-secret-webhook-path"
REASON = "meltano run sync-north failed (exit 1): PDI login failed (HTTP 401)"


class Webhook:
    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.status = 200
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                hook.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(hook.status)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hooks/{SECRET}"
        Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def webhook(monkeypatch: pytest.MonkeyPatch) -> Iterator[Webhook]:
    hook = Webhook()
    monkeypatch.setenv(WEBHOOK_VARIABLE, hook.url)
    monkeypatch.delenv(UI_URL_VARIABLE, raising=False)
    yield hook
    hook.server.shutdown()


@dg.asset(key=KEY)
def broken() -> None:
    raise dg.Failure(description=REASON)


@dg.asset(
    key=KEY,
    check_specs=[dg.AssetCheckSpec("reconcile", asset=KEY), dg.AssetCheckSpec("dead", asset=KEY)],
)
def checked() -> dg.MaterializeResult:
    return dg.MaterializeResult(
        check_results=[
            dg.AssetCheckResult(
                check_name="reconcile",
                passed=False,
                severity=dg.AssetCheckSeverity.ERROR,
                description="1 discrepancy: 1 timeslot without PDI event",
            ),
            dg.AssetCheckResult(
                check_name="dead",
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                description="2 dead letters waiting",
            ),
        ]
    )


@dg.asset(key=KEY, check_specs=[dg.AssetCheckSpec("dead", asset=KEY)])
def amber() -> dg.MaterializeResult:
    return dg.MaterializeResult(
        check_results=[
            dg.AssetCheckResult(
                check_name="dead", passed=False, severity=dg.AssetCheckSeverity.WARN
            )
        ]
    )


def failure_context(instance: dg.DagsterInstance) -> dg.RunFailureSensorContext:
    result = dg.materialize(
        [broken], instance=instance, raise_on_error=False, tags={ORGANIZATION_TAG: "north"}
    )
    run = instance.get_run_by_id(result.run_id)
    assert run is not None
    return dg.build_run_status_sensor_context(
        sensor_name="alert_on_run_failure",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=run,
    ).for_run_failure()


def success_context(
    instance: dg.DagsterInstance, asset: dg.AssetsDefinition
) -> dg.RunStatusSensorContext:
    result = dg.materialize([asset], instance=instance, tags={ORGANIZATION_TAG: "north"})
    run = instance.get_run_by_id(result.run_id)
    assert run is not None
    return dg.build_run_status_sensor_context(
        sensor_name="alert_on_failed_checks",
        dagster_event=result.get_run_success_event(),
        dagster_instance=instance,
        dagster_run=run,
    )


def test_a_failed_run_is_posted_with_its_organization_and_reason(
    webhook: Webhook, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(UI_URL_VARIABLE, "http://127.0.0.1:3000/")
    context = failure_context(dg.DagsterInstance.ephemeral())
    alert_on_run_failure(context)
    run_id = context.dagster_run.run_id
    assert webhook.bodies == [
        {
            "text": f"mobilize-pdi: north: run {run_id[:8]} of __ephemeral_asset_job__ "
            f"http://127.0.0.1:3000/runs/{run_id} failed: {REASON}"
        }
    ]


def test_failed_error_checks_are_posted_and_amber_ones_are_not(webhook: Webhook) -> None:
    instance = dg.DagsterInstance.ephemeral()
    context = success_context(instance, checked)
    alert_on_failed_checks(context)
    (body,) = webhook.bodies
    assert body["text"].endswith(
        "checks failed: pdi/north reconcile: 1 discrepancy: 1 timeslot without PDI event"
    )
    alert_on_failed_checks(success_context(instance, amber))
    assert len(webhook.bodies) == 1


def test_without_a_webhook_nothing_is_posted_and_nothing_fails(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(WEBHOOK_VARIABLE, raising=False)
    alert_on_run_failure(failure_context(dg.DagsterInstance.ephemeral()))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (None, "the webhook answered HTTP 500"),
        (f"http://127.0.0.1:9/hooks/{SECRET}", "the webhook could not be reached"),
        (f"hooks.example.org/{SECRET}", f"{WEBHOOK_VARIABLE} is not an http(s) URL"),
    ],
)
def test_a_refused_alert_raises_without_the_webhooks_address(
    webhook: Webhook, monkeypatch: pytest.MonkeyPatch, url: str | None, expected: str
) -> None:
    webhook.status = 500
    if url is not None:
        monkeypatch.setenv(WEBHOOK_VARIABLE, url)
    context = failure_context(dg.DagsterInstance.ephemeral())
    with pytest.raises(AlertNotSent) as raised:
        alert_on_run_failure(context)
    assert str(raised.value).startswith(expected)
    assert SECRET not in str(raised.value)
    assert raised.value.__cause__ is None

"""Alerts with Dagster's open-source parts: two run-status sensors that post to a webhook.

- ``alert_on_run_failure``: a run of this code location failed (a sync, a reconcile, a
  freshness check): which organization, and the reason its step gave.
- ``alert_on_failed_checks``: a run succeeded but a check of severity ERROR failed in it
  (records failed, discrepancies found, a sync overdue). Amber checks (dead letters waiting
  too long) post nothing: they stay visible on the asset page. A failed run's red
  ``attention`` is in the failure's alert already.

The webhook is ``MOBILIZE_PDI_ALERT_WEBHOOK_URL`` in the environment of the daemon (a Slack,
Mattermost or Google Chat incoming webhook: a JSON body ``{"text": ...}``). The URL holds its
own secret, so it is never logged, nor put in an exception; without it the sensors post
nothing and say so in their log. Both run from the start (no `dagster sensor start`).
``MOBILIZE_PDI_DAGSTER_URL``, when set (the UI's address as staff reach it), adds a link to
the run.
"""

# No `from __future__ import annotations`: Dagster reads the context parameter's type at
# definition time and refuses a string.
import json
import os
import urllib.error
import urllib.parse
import urllib.request

import dagster as dg

from mobilize_pdi_dagster.sync_asset import ORGANIZATION_TAG

WEBHOOK_VARIABLE = "MOBILIZE_PDI_ALERT_WEBHOOK_URL"
UI_URL_VARIABLE = "MOBILIZE_PDI_DAGSTER_URL"
POST_TIMEOUT_SECONDS = 10


class AlertNotSent(Exception):
    """The webhook refused or did not answer; the message never holds its URL."""


def post(text: str) -> bool:
    """Post ``text`` to the webhook; False when none is set."""
    url = os.environ.get(WEBHOOK_VARIABLE, "").strip()
    if not url:
        return False
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        # Checked here: urllib's own error would quote the URL.
        raise AlertNotSent(f"{WEBHOOK_VARIABLE} is not an http(s) URL")
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
        url,
        data=json.dumps({"text": text}).encode(),
        method="POST",
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=POST_TIMEOUT_SECONDS):  # noqa: S310
            return True
    except urllib.error.HTTPError as exc:
        raise AlertNotSent(f"the webhook answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise AlertNotSent(f"the webhook could not be reached: {reason}") from None


def run_label(run: dg.DagsterRun) -> str:
    org = run.tags.get(ORGANIZATION_TAG)
    named = f"{org}: " if org else ""
    link = os.environ.get(UI_URL_VARIABLE, "").rstrip("/")
    where = f" {link}/runs/{run.run_id}" if link else ""
    return f"{named}run {run.run_id[:8]} of {run.job_name}{where}"


def failure_text(context: dg.RunFailureSensorContext) -> str:
    reasons = []
    for event in context.get_step_failure_events():
        data = event.step_failure_data
        if data.user_failure_data is not None and data.user_failure_data.description:
            reasons.append(data.user_failure_data.description)
        elif data.error is not None:
            reasons.append(data.error.message.strip().splitlines()[0])
    reason = "; ".join(reasons) or (context.failure_event.message or "no reason given")
    return f"mobilize-pdi: {run_label(context.dagster_run)} failed: {reason}"


def failed_checks(instance: dg.DagsterInstance, run_id: str) -> list[str]:
    """'<asset> <check>: <description>' for each check of severity ERROR that failed in the
    run (a freshness check's run names no organization otherwise)."""
    found = []
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION):
        event = entry.dagster_event
        evaluation = event.asset_check_evaluation_data if event is not None else None
        if (
            evaluation is not None
            and not evaluation.passed
            and evaluation.severity == dg.AssetCheckSeverity.ERROR
        ):
            found.append(
                f"{evaluation.asset_key.to_user_string()} {evaluation.check_name}: "
                f"{evaluation.description or 'failed'}"
            )
    return found


# Running from the start: setting the webhook is all it takes to turn alerts on.
@dg.run_failure_sensor(
    name="alert_on_run_failure",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=f"Posts each failed run, with its reason, to {WEBHOOK_VARIABLE}.",
)
def alert_on_run_failure(context: dg.RunFailureSensorContext) -> None:
    if not post(failure_text(context)):
        context.log.warning(f"{WEBHOOK_VARIABLE} is not set: no alert sent")


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="alert_on_failed_checks",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=f"Posts each run whose checks of severity ERROR failed to {WEBHOOK_VARIABLE}.",
)
def alert_on_failed_checks(context: dg.RunStatusSensorContext) -> None:
    failed = failed_checks(context.instance, context.dagster_run.run_id)
    if not failed:
        return
    text = f"mobilize-pdi: {run_label(context.dagster_run)}: checks failed: " + "; ".join(failed)
    if not post(text):
        context.log.warning(f"{WEBHOOK_VARIABLE} is not set: no alert sent")

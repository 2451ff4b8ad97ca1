"""The switches for Mobilize's unknown behaviours: the answers to ``mobilize-api.md``
section 8, each defaulting to the harsh one (see the package docstring for what each
value does)."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.server.answers import Answers, answer


@dataclass
class MobilizeAnswers(Answers):
    """Answers to ``mobilize-api.md`` section 8; each default is the harsh one."""

    TITLE = "mobilize answers"

    updated_since: str = answer("inclusive", "exclusive", harsh="exclusive", lenient="inclusive")
    timeslot_edits_bump_event: bool = answer(True, False, harsh=False, lenient=True)
    attended_bumps_attendance: bool = answer(True, False, harsh=False, lenient=True)
    deleted_event_attendances: str = answer("listed", "hidden", harsh="listed", lenient="hidden")
    removed_timeslot_attendances: str = answer("listed", "hidden", harsh="listed", lenient="hidden")


HARSH_ANSWERS = MobilizeAnswers.preset("harsh")
LENIENT_ANSWERS = MobilizeAnswers.preset("lenient")

"""The simulator's answers to the open questions of ``pdi-api.md`` section 8 (see the
package docstring for what each one changes)."""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.server.answers import Answers, answer


@dataclass
class PdiAnswers(Answers):
    """Answers to ``pdi-api.md`` section 8; each default is the harsh one."""

    TITLE = "pdi answers"

    contact_search: str = answer(
        "exact", "fuzzy", "ignore_email", harsh="ignore_email", lenient="exact"
    )
    contact_rows_have_emails: bool = answer(True, False, harsh=False, lenient=True)
    duplicate_invitations: str = answer("refused", "accepted", harsh="accepted", lenient="refused")
    put_replaces: bool = answer(True, False, harsh=True, lenient=False)


HARSH_ANSWERS = PdiAnswers.preset("harsh")
LENIENT_ANSWERS = PdiAnswers.preset("lenient")

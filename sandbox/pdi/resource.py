"""What every writable PDI resource family shares: the simulator's state, its answers to the
open API questions, the pager, and what a PUT stores under the `put_replaces` answer."""

from __future__ import annotations

from typing import Any

from sandbox.pdi.answers import PdiAnswers
from sandbox.pdi.binding import Body, put_fields
from sandbox.pdi.paging import Pager
from sandbox.pdi.state import PdiState


class Resource:
    def __init__(self, state: PdiState, answers: PdiAnswers, pager: Pager) -> None:
        self.state = state
        self.answers = answers
        self.pager = pager

    def put_fields(self, body: Body, fields: dict[str, Any]) -> dict[str, Any]:
        """The fields a PUT stores: all of them when PUT replaces, the ones sent when it merges."""
        return put_fields(body, fields, self.answers.put_replaces)

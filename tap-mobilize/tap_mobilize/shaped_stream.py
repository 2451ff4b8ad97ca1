"""Rows in their schema's shape: each stream's :class:`~tap_mobilize.row_shape.RowShaper`, and
who conforms the shaped rows to the catalog, the shaper in its own walk or singer-sdk after it.

:class:`ShapedStream` is what :class:`tap_mobilize.client.MobilizeStream` builds on for it; the
client shapes each row it parses with :attr:`ShapedStream.shaper`.
"""

from __future__ import annotations

import typing as t
from functools import cached_property

from singer_sdk.helpers.conform import TypeConformanceLevel
from singer_sdk.streams import RESTStream

from tap_mobilize.compiled_schema import conformance_is_covered
from tap_mobilize.row_shape import RowShaper

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

_TToken = t.TypeVar("_TToken")


class ShapedStream(RESTStream[_TToken]):
    """A stream whose rows its shaper shapes, and conforms where it can (see
    :meth:`shaper_conforms_rows`); the SDK's conformance is turned off there."""

    def __init__(self, *args: t.Any, **kwargs: t.Any) -> None:
        self._conformance_level: TypeConformanceLevel | None = None
        super().__init__(*args, **kwargs)

    @cached_property
    def shaper(self) -> RowShaper:
        # Built at the first row, once the catalog (schema, replication key, selection) is in.
        return RowShaper(
            self.name,
            self.schema,
            self.replication_key,
            self.logger,
            leaves_out_unmapped=self.shaper_conforms_rows(),
        )

    def shaper_conforms_rows(self) -> bool:
        """Whether the shaper does, in its own walk, all the SDK's conformance would do to
        this stream's rows, so that the SDK's walk can be left out.

        Only where the shaper sees each row from its read to its RECORD: not a child's (its
        rows are built from its parent's, never read by itself), nor a parent's (its children
        read its rows before the SDK conforms them, and the SDK warns about each stream's
        unknown properties apart). The catalog must not change the schema, nor deselect a
        property (the SDK drops those before its conformance looks for unknown ones).
        """
        return (
            self.parent_stream_type is None
            and not self.child_streams
            and self.effective_schema == self.schema
            and all(self.mask.values())
            and conformance_is_covered(self.schema)
        )

    @property
    def TYPE_CONFORMANCE_LEVEL(self) -> TypeConformanceLevel:  # noqa: N802  # the SDK's name
        """The SDK's conformance of each RECORD: none where the shaper has done it."""
        if self._conformance_level is not None:
            return self._conformance_level
        if self.shaper.leaves_out_unmapped:
            return TypeConformanceLevel.NONE
        return TypeConformanceLevel.RECURSIVE

    @TYPE_CONFORMANCE_LEVEL.setter
    def TYPE_CONFORMANCE_LEVEL(self, level: TypeConformanceLevel) -> None:  # noqa: N802
        # The SDK's switch is an attribute: setting it still chooses the level.
        self._conformance_level = level

    def post_process(
        self, row: dict[str, t.Any], context: Context | None = None
    ) -> dict[str, t.Any] | None:
        return self.shaper.finish(row)

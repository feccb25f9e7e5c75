"""Writing records: the SDK's per-record work, done once per schema instead."""

from __future__ import annotations

import contextlib
import gc
import typing as t
from dataclasses import dataclass
from functools import cached_property

from singer_sdk.helpers._util import utc_now
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib.messages import RecordMessage
from singer_sdk.streams import Stream
from typing_extensions import override

from tap_zendesk_incremental.output import BufferedSingerWriter

if t.TYPE_CHECKING:
    import datetime

#: Container allocations between two young-generation garbage collections while a
#: stream syncs. CPython's default is 700.
GC_YOUNG_THRESHOLD = 100_000


@dataclass(frozen=True, slots=True)
class RecordPlan:
    """The work a record needs before it is written, worked out once per schema.

    Records decoded from Zendesk's JSON already have the declared JSON types, so
    the per-record type conformance of the SDK has nothing to change as long as a
    record carries only declared properties. Records with new properties take the
    SDK's path, which drops them and logs a warning.

    ``direct`` records also skip the SDK's RecordMessage: the stream has only the
    SDK's default stream map, without flattening, which passes records on as they
    are, so the record is encoded straight into the writer's buffer.
    """

    known: frozenset[str]
    open: bool
    deselected: tuple[str, ...]
    fast: bool
    direct: bool


@contextlib.contextmanager
def fewer_gc_passes() -> t.Iterator[None]:
    """Raise the garbage collector's young-generation threshold, then restore it.

    A decoded export page of 1000 tickets is some 44,000 dicts and lists without
    reference cycles, which reference counting frees. At CPython's default
    threshold the cyclic collector walks them many times per page, which took over
    a third of the tap's CPU time in ``benchmarks/run.py``.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


class FastRecordStream(Stream):
    """A stream whose records skip the SDK's per-record conformance when they can.

    See :class:`RecordPlan` for when a record takes the fast path.
    """

    #: When the current page was received, the ``time_extracted`` of its records.
    extracted_at: datetime.datetime | None = None

    @cached_property
    def record_plan(self) -> RecordPlan:
        """The per-schema plan for writing this stream's records."""
        properties = self.schema["properties"]
        mask = self.mask
        deselected = tuple(
            name for name in properties if not mask[("properties", name)]
        )
        nested_deselected = any(
            len(breadcrumb) > 2 and not selected  # noqa: PLR2004
            for breadcrumb, selected in mask.items()
        )
        stream_map = self.stream_maps[0]
        return RecordPlan(
            known=frozenset(properties),
            open=self.schema.get("additionalProperties") is True,
            deselected=deselected,
            fast=not nested_deselected,
            direct=not nested_deselected
            and len(self.stream_maps) == 1
            and type(stream_map) is SameRecordTransform
            and not stream_map.flattening_enabled
            and isinstance(self._tap.message_writer, BufferedSingerWriter),
        )

    @cached_property
    def undeclared_fields(self) -> set[str]:
        """Record fields seen in this run that the schema does not declare."""
        return set()

    def fits_plan(self, record: dict) -> bool:
        """Tell whether a record can skip the SDK's per-record conformance.

        Fields the schema does not declare pass through untyped when the schema
        admits them; each new name is logged once per run.
        """
        plan = self.record_plan
        if plan.known.issuperset(record):
            return True
        if not plan.open:
            return False
        new = record.keys() - plan.known - self.undeclared_fields
        if new:
            self.undeclared_fields.update(new)
            self.logger.warning(
                "Stream '%s' has fields the schema does not declare, passed on "
                "untyped: %s",
                self.name,
                ", ".join(sorted(new)),
            )
        return True

    @override
    def _write_record_message(self, record: dict) -> None:
        plan = self.record_plan
        if not plan.direct or not self.fits_plan(record):
            super()._write_record_message(record)
            return
        for name in plan.deselected:
            record.pop(name, None)
        writer = t.cast("BufferedSingerWriter", self._tap.message_writer)
        writer.write_record(
            self.stream_maps[0].stream_alias,
            record,
            self._stream_version,
            self.extracted_at or utc_now(),
        )
        self.state_manager.is_flushed = False

    @override
    def _generate_record_messages(
        self, record: dict
    ) -> t.Generator[RecordMessage, None, None]:
        plan = self.record_plan
        if not plan.fast or not self.fits_plan(record):
            yield from super()._generate_record_messages(record)
            return
        for name in plan.deselected:
            record.pop(name, None)
        extracted_at = self.extracted_at or utc_now()
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=extracted_at,
                )

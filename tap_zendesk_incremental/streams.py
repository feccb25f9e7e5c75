"""The tickets stream over Zendesk's time-based Incremental Ticket Export."""

from __future__ import annotations

import datetime
import typing as t
from urllib.parse import parse_qsl, urljoin, urlsplit

from typing_extensions import override

from tap_zendesk_incremental import settings
from tap_zendesk_incremental.auth import origin
from tap_zendesk_incremental.client import ZendeskStream
from tap_zendesk_incremental.errors import ExportShapeError, InvalidStateError
from tap_zendesk_incremental.export import (
    BoundaryFilter,
    ExportPage,
    check_tickets,
    is_int,
)
from tap_zendesk_incremental.progress import ExportProgress
from tap_zendesk_incremental.responses import CaughtUpError, safe_url
from tap_zendesk_incremental.schemas import TICKET

if t.TYPE_CHECKING:
    from collections.abc import Iterator

    from singer_sdk import Stream
    from singer_sdk.helpers.types import Context, Record

#: Zendesk never exports the most recent minute: a ``start_time`` must be older.
RECENT_SECONDS = 60
CURSOR_PATH = "/api/v2/incremental/tickets/cursor.json"


def to_epoch(value: str) -> int:
    """Convert an ISO 8601 setting to epoch seconds."""
    return int(settings.parse_iso_datetime(value).timestamp())


def iso(epoch: float) -> str:
    """Format epoch seconds as an ISO 8601 UTC time."""
    moment = datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC)
    return moment.isoformat().replace("+00:00", "Z")


class SideloadConsumer(t.Protocol):
    """A child stream of tickets whose records are one sideload of the export."""

    #: The ``include`` value that requests this sideload.
    sideload: str

    def start_export(self) -> None:
        """Write the stream's SCHEMA message before the first request."""

    def write_sideload(
        self, body: dict, extracted_at: datetime.datetime | None
    ) -> None:
        """Write the sideloaded objects of one export response."""


class TicketsStream(ZendeskStream):
    """Tickets, each at its current version, in ascending ``generated_timestamp``.

    The bookmark is the ``end_time`` of the last page whose tickets were all
    emitted, written in a STATE message right after them, so a run stopped at any
    moment resumes without a gap. ``start_time`` is inclusive: the next run starts
    with the tickets at the bookmark's second again, which targets merge on ``id``.
    Within a run, the copies Zendesk repeats at page boundaries are dropped.

    When more tickets share one second than fit on a page, the time-based export
    cannot get past it, because ``end_time`` equals ``start_time``. The stream then
    reads that second through the cursor-based export and continues after it.
    """

    name = "tickets"
    path = "/api/v2/incremental/tickets.json"
    primary_keys: t.ClassVar[list[str]] = ["id"]
    replication_key = "generated_timestamp"
    is_sorted = True
    schema = TICKET

    # STATE is written per page by this stream, never in the middle of one.
    STATE_MSG_FREQUENCY = 2**62

    @override
    def _increment_stream_state(
        self, latest_record: Record, *, context: Context | None = None
    ) -> None:
        """Leave the bookmark alone per record: it advances per page."""

    @override
    def generate_child_contexts(
        self, record: Record, context: Context | None
    ) -> Iterator[Context | None]:
        """Yield no context: child streams are fed from the pages, not per ticket."""
        yield from ()

    def sideload_streams(self) -> list[SideloadConsumer]:
        """Return the selected child streams, each fed by one sideload."""
        return [
            t.cast("SideloadConsumer", child)
            for child in self.child_streams
            if child.selected
        ]

    def bookmarked_streams(self) -> list[Stream]:
        """Return the selected streams whose bookmark is the export position."""
        return [stream for stream in (self, *self.child_streams) if stream.selected]

    @override
    def get_records(self, context: Context | None) -> Iterator[dict]:
        for child in self.sideload_streams():
            child.start_export()
        now = self.pacer.clock.time()
        start_time = self.resume_start_time(now)
        end_time = self.window_end()
        if start_time is None:
            return
        progress = ExportProgress(
            self.logger, start_time, end_time or int(now) - RECENT_SECONDS, self.pacer
        )
        try:
            yield from self.export_from(start_time, end_time, progress)
        except CaughtUpError:
            # Each bookmark written is exact, so the next run resumes from it.
            self.logger.info("Zendesk reports the export is caught up")

    def export_from(
        self, start_time: int, end_time: int | None, progress: ExportProgress
    ) -> Iterator[dict]:
        """Emit the tickets from ``start_time`` on and write a bookmark per page.

        Raises:
            CaughtUpError: If Zendesk rejects a ``start_time`` as too recent,
                also while reading a crowded second through the cursor export.
        """
        boundary = BoundaryFilter()
        per_page = self.config.get("page_size", settings.MAX_PAGE_SIZE)
        url, params = self.url_base + self.path, self.export_params(start_time)
        while not self.is_caught_up(start_time, end_time):
            page = ExportPage.from_json(self.fetch_json(url, params), url, per_page)

            self.on_page(page)
            progress.page_started(page.tickets)
            for ticket in page.tickets:
                if end_time is not None and ticket["generated_timestamp"] >= end_time:
                    self.write_bookmark(end_time)
                    return
                if boundary.is_new(ticket):
                    progress.tickets += 1
                    yield ticket

            page_end = start_time if page.end_time is None else page.end_time
            self.write_bookmark(page_end)
            progress.page_done(page_end)
            if page.end_of_stream:
                return

            if page_end <= start_time:
                # The export cannot get past this second. A page that grew past
                # per_page already contains every ticket of it; otherwise the cursor
                # export reads the second.
                if len(page.tickets) <= per_page:
                    yield from self.read_second(start_time, boundary, end_time)
                start_time += 1
                self.write_bookmark(start_time)
                url, params = self.url_base + self.path, self.export_params(start_time)
                continue
            url, params, start_time = self.next_request(page, page_end)

    def on_page(self, page: ExportPage) -> None:
        """Handle a decoded page before its tickets are emitted."""
        self.write_sideloads(page.body)

    def write_sideloads(self, body: dict) -> None:
        """Write the new sideloaded objects of one response to their streams."""
        for child in self.sideload_streams():
            child.write_sideload(body, self.extracted_at)

    def resume_start_time(self, now: float) -> int | None:
        """Choose the first ``start_time``: the later of the bookmark and start_date.

        Returns:
            None when that time is within the last minute: nothing to export yet.
        """
        bookmark = self.export_bookmark(now)
        start_date = self.config.get("start_date")
        candidates = [bookmark or 0]
        if start_date:
            candidates.append(to_epoch(start_date))
        start_time = max(candidates)
        if start_time > now - RECENT_SECONDS:
            self.logger.info(
                "Caught up: start_time %s (%s) is less than %d s in the past",
                start_time,
                iso(start_time),
                RECENT_SECONDS,
            )
            return None
        self.logger.info(
            "Exporting tickets from start_time %s (%s)", start_time, iso(start_time)
        )
        return start_time

    @override
    def check_bookmark(self) -> None:
        self.export_bookmark(self.pacer.clock.time())

    def export_bookmark(self, now: float) -> int | None:
        """Return the earliest bookmark of the selected streams fed by the export.

        Returns:
            None when one of them has no bookmark yet.
        """
        bookmarks = [self.bookmark(now, stream) for stream in self.bookmarked_streams()]
        values = [value for value in bookmarks if value is not None]
        if not values or len(values) < len(bookmarks):
            return None
        return min(values)

    def bookmark(self, now: float, stream: Stream | None = None) -> int | None:
        """Read and check the bookmark of a stream (by default tickets) in state.

        Raises:
            InvalidStateError: If the bookmark is not an integer or is in the
                future, which no Zendesk ``end_time`` can be.
        """
        stream = stream or self
        state = stream.get_context_state(None)
        value = state.get("replication_key_value")
        key = state.get("replication_key")
        if value is None:
            return None
        reset = (
            "Reset the state to export again from `start_date` (`meltano state "
            "clear <state-id>`, or run without --state) or set a valid integer."
        )
        if key not in {None, self.replication_key}:
            msg = (
                f"Invalid bookmark for stream '{stream.name}': replication_key is "
                f"{key!r}, expected '{self.replication_key}'. {reset}"
            )
            raise InvalidStateError(msg)
        if not is_int(value):
            # The SDK reads state numbers as Decimal: show 1.5, not Decimal('1.5').
            value_text = repr(value) if isinstance(value, str) else value
            msg = (
                f"Invalid bookmark for stream '{stream.name}': replication_key_value "
                f"{value_text} is not an integer epoch time in seconds. {reset}"
            )
            raise InvalidStateError(msg)
        if value > now:
            msg = (
                f"Invalid bookmark for stream '{stream.name}': replication_key_value "
                f"{value} ({iso(value)}) is in the future, so resuming from it would "
                f"skip every change before then. {reset}"
            )
            raise InvalidStateError(msg)
        return value

    def window_end(self) -> int | None:
        """Return ``end_date`` as epoch seconds, if set."""
        end_date = self.config.get("end_date")
        return to_epoch(end_date) if end_date else None

    def is_caught_up(self, start_time: int, end_time: int | None) -> bool:
        """Tell whether ``start_time`` is too recent or past ``end_date``."""
        if end_time is not None and start_time >= end_time:
            self.logger.info("Reached end_date %s (%s)", end_time, iso(end_time))
            return True
        if start_time > self.pacer.clock.time() - RECENT_SECONDS:
            self.logger.info(
                "Caught up: next start_time %s is less than %d s in the past",
                start_time,
                RECENT_SECONDS,
            )
            return True
        return False

    def export_params(self, start_time: int) -> dict[str, t.Any]:
        """Build the query of an export request starting at ``start_time``."""
        params: dict[str, t.Any] = {
            "start_time": start_time,
            "per_page": self.config.get("page_size", settings.MAX_PAGE_SIZE),
        }
        sideloads = [child.sideload for child in self.sideload_streams()]
        if sideloads:
            params["include"] = ",".join(sideloads)
        if self.config.get("exclude_deleted"):
            params["exclude_deleted"] = "true"
        scope = self.config.get("support_type_scope", "agent")
        if scope != "agent":
            params["support_type_scope"] = scope
        return params

    def next_request(
        self, page: ExportPage, page_end: int
    ) -> tuple[str, dict | None, int]:
        """Return the URL, query and ``start_time`` of the page after ``page``.

        Zendesk documents ``next_page`` as the same request with
        ``start_time=end_time``. The tap builds that request itself from its own
        parameters, because a link may leave out ``include``, ``per_page``,
        ``exclude_deleted`` or ``support_type_scope``. A link to another host
        still stops the run.
        """
        if page.next_page is not None:
            self.check_same_host(urljoin(self.url_base + self.path, page.next_page))
        return self.url_base + self.path, self.export_params(page_end), page_end

    def check_same_host(self, url: str) -> None:
        """Refuse a link from Zendesk that points away from the configured host.

        Raises:
            ExportShapeError: Naming the foreign host.
        """
        if origin(url) != origin(self.url_base):
            msg = (
                f"Zendesk's next page link points at {urlsplit(url).netloc}, not the "
                f"configured host {urlsplit(self.url_base).netloc}; stopping without "
                "sending credentials there. Check `subdomain` and `api_url`."
            )
            raise ExportShapeError(msg)

    def read_second(
        self, second: int, boundary: BoundaryFilter, end_time: int | None
    ) -> Iterator[dict]:
        """Emit every ticket of one crowded second through the cursor export."""
        if end_time is not None and second >= end_time:
            return
        self.logger.info(
            "More tickets share generated_timestamp %s than fit on a page; reading "
            "that second through the cursor-based export",
            second,
        )
        url: str = self.url_base + CURSOR_PATH
        params: dict | None = self.export_params(second)
        while True:
            body = self.fetch_json(url, params)
            tickets = body.get("tickets")
            if not isinstance(tickets, list):
                msg = f"Zendesk's answer to {safe_url(url)} has no `tickets` array."
                raise ExportShapeError(msg)
            check_tickets(tickets, url)
            self.write_sideloads(body)
            for ticket in tickets:
                if ticket["generated_timestamp"] > second:
                    return
                if boundary.is_new(ticket):
                    yield ticket
            if body.get("end_of_stream") is True:
                return
            url, params = self.next_cursor_request(body, url)

    def next_cursor_request(self, body: dict, url: str) -> tuple[str, dict | None]:
        """Return the URL and query of the cursor page after ``body``.

        Uses ``after_cursor`` with the tap's own parameters, or else ``after_url``
        with any of them that it leaves out.

        Raises:
            ExportShapeError: If the page is not the last but names no next page.
        """
        params = self.export_params(0)
        del params["start_time"]
        after_cursor = body.get("after_cursor")
        if isinstance(after_cursor, str) and after_cursor:
            return self.url_base + CURSOR_PATH, {**params, "cursor": after_cursor}
        after_url = body.get("after_url")
        if isinstance(after_url, str) and after_url:
            link = urlsplit(urljoin(url, after_url))
            self.check_same_host(link.geturl())
            query = dict(parse_qsl(link.query))
            return link._replace(query="").geturl(), {**params, **query}
        msg = (
            f"Zendesk's cursor export answer to {safe_url(url)} has neither "
            "`after_url` nor `after_cursor` although `end_of_stream` is false; "
            "stopping rather than skipping tickets."
        )
        raise ExportShapeError(msg)

    def write_bookmark(self, value: int) -> None:
        """Set the bookmark of every selected stream and emit one STATE message."""
        value = min(value, int(self.pacer.clock.time()))
        for stream in self.bookmarked_streams():
            state = stream.get_context_state(None)
            state["replication_key"] = self.replication_key
            state["replication_key_value"] = value
        self.state_manager.is_flushed = False
        self._write_state_message()
        self.pacer.check_stop()

"""Pages of the time-based and cursor-based incremental ticket exports.

Both exports list tickets in `(generated_timestamp, id)` order at their current
version and never include the last 60 seconds. The functions here only select and
serialize. The server parses requests and renders errors.
"""

from __future__ import annotations

import base64
import binascii
import math
from dataclasses import dataclass
from itertools import islice
from typing import TYPE_CHECKING, Literal

import msgspec

from fake_zendesk.errors import TOO_RECENT_BODY, ApiError, invalid_value
from fake_zendesk.metrics import build_metric_set

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    from fake_zendesk.account import Account, TicketEntry

SameSecond = Literal["grow", "stall"]
SCOPES = ("agent", "all", "ai_agent")
# Zendesk never exports changes from the most recent minute.
EXPORT_DELAY_SECONDS = 60


@dataclass(frozen=True)
class ExportQuery:
    """The export parameters that every page of one export shares."""

    per_page: int
    includes: tuple[str, ...]
    exclude_deleted: bool
    scope: str

    def accepts(self, entry: TicketEntry) -> bool:
        """Return whether `entry` belongs in this export."""
        if self.exclude_deleted and entry.deleted:
            return False
        if self.scope == "agent":
            return not entry.ai_agent
        if self.scope == "ai_agent":
            return entry.ai_agent
        return True


@dataclass(frozen=True)
class Page:
    """The tickets of one page and where the export continues."""

    entries: list[TicketEntry]
    end_of_stream: bool
    end_time: int = 0
    after: tuple[int, int] = (0, 0)


def parse_query(params: Mapping[str, str], max_per_page: int) -> ExportQuery:
    """Read `per_page`, `include`, `exclude_deleted` and `support_type_scope`.

    A `per_page` above `max_per_page` is lowered to it.

    Raises:
        ApiError: 400 for a `per_page` that is not a positive integer or an unknown
            `support_type_scope`.
    """
    per_page = max_per_page
    if "per_page" in params:
        per_page = _parse_int(params["per_page"], "per_page")
        if per_page < 1:
            message = f"per_page must be between 1 and {max_per_page}"
            raise invalid_value(message)
    scope = params.get("support_type_scope", "agent")
    if scope not in SCOPES:
        message = f"support_type_scope must be one of {', '.join(SCOPES)}"
        raise invalid_value(message)
    includes = tuple(
        name.strip() for name in params.get("include", "").split(",") if name.strip()
    )
    return ExportQuery(
        per_page=min(per_page, max_per_page),
        includes=includes,
        exclude_deleted=params.get("exclude_deleted", "").lower() == "true",
        scope=scope,
    )


def parse_start_time(params: Mapping[str, str], now: float) -> int:
    """Return `start_time`, which must be an integer older than one minute.

    Raises:
        ApiError: 400 if `start_time` is missing or not an integer, 422 if it is
            within the last 60 seconds or in the future.
    """
    try:
        start_time = int(params["start_time"])
    except (KeyError, ValueError):
        raise invalid_value("start_time is required") from None
    if start_time > now - EXPORT_DELAY_SECONDS:
        raise ApiError(422, TOO_RECENT_BODY)
    return start_time


def _parse_int(text: str, name: str) -> int:
    try:
        return int(text)
    except ValueError:
        message = f"{name} must be an integer, got {text!r}"
        raise invalid_value(message) from None


def _exportable(
    account: Account,
    position: tuple[int, int],
    cutoff: int,
    accepts: Callable[[TicketEntry], bool],
) -> Iterator[TicketEntry]:
    """Yield accepted tickets from `position` on, up to `cutoff` inclusive."""
    for entry in account.scan(position):
        if entry.generated_timestamp > cutoff:
            return
        if accepts(entry):
            yield entry


def time_based_page(
    account: Account,
    start_time: int,
    query: ExportQuery,
    now: float,
    same_second: SameSecond,
) -> Page:
    """Select one page of the time-based export starting at `start_time`.

    The page contains the first `per_page` tickets with `generated_timestamp >=
    start_time`. With `grow`, it also takes the following tickets of its last second.
    If the page would still end at `start_time`, it takes the next second as well,
    so the export always advances. With `stall`, the page never grows. A second
    that contains `per_page` tickets or more then ends the page at `start_time` again
    and again, as users of the real API have reported.

    `end_of_stream` is true when the page is not full, and also when the rest of
    the export is exactly this page at `start_time`, which would otherwise repeat.
    The caller must hold `account.lock`.
    """
    cutoff = math.floor(now - EXPORT_DELAY_SECONDS)
    stream = _exportable(account, (start_time, 0), cutoff, query.accepts)
    entries = list(islice(stream, query.per_page))
    following = next(stream, None)
    if same_second == "grow" and entries:
        following = _take_second(entries, following, stream, entries[-1])
        if following is not None and entries[-1].generated_timestamp == start_time:
            following = _take_second(entries, following, stream, following)
    end_time = entries[-1].generated_timestamp if entries else start_time
    stuck_at_end = following is None and end_time == start_time
    end_of_stream = len(entries) < query.per_page or stuck_at_end
    return Page(entries, end_of_stream, end_time=end_time)


def _take_second(
    entries: list[TicketEntry],
    following: TicketEntry | None,
    stream: Iterator[TicketEntry],
    anchor: TicketEntry,
) -> TicketEntry | None:
    """Append tickets sharing `anchor`'s second and return the first one after."""
    while following is not None and (
        following.generated_timestamp == anchor.generated_timestamp
    ):
        entries.append(following)
        following = next(stream, None)
    return following


def cursor_page(
    account: Account, after: tuple[int, int], query: ExportQuery, now: float
) -> Page:
    """Select the tickets after position `(generated_timestamp, id)`.

    The caller must hold `account.lock`.
    """
    cutoff = math.floor(now - EXPORT_DELAY_SECONDS)
    start = (after[0], after[1] + 1)
    stream = _exportable(account, start, cutoff, query.accepts)
    entries = list(islice(stream, query.per_page))
    following = next(stream, None)
    last = entries[-1].position if entries else after
    return Page(entries, following is None, after=last)


def encode_cursor(position: tuple[int, int]) -> str:
    """Return the opaque cursor for position `(generated_timestamp, id)`."""
    text = f"{position[0]}.0||{position[1]}|"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[int, int]:
    """Return the position a cursor stands for.

    Raises:
        ApiError: 400 if `cursor` was not made by `encode_cursor`.
    """
    padded = cursor + "=" * (-len(cursor) % 4)
    try:
        text = base64.urlsafe_b64decode(padded.encode()).decode()
        stamp, _, ticket_id, _ = text.split("|")
        return (int(stamp.removesuffix(".0")), int(ticket_id))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        message = f"cursor {cursor!r} is invalid: use an after_cursor from a response"
        raise invalid_value(message) from None


def page_body(entries: list[TicketEntry], fields: dict) -> bytes:
    """Return `{"tickets": [...], **fields}` as JSON, joining cached ticket bytes."""
    tickets = b",".join(entry.blob for entry in entries)
    rest = msgspec.json.encode(fields)
    separator = b"," if fields else b""
    return b'{"tickets":[' + tickets + b"]" + separator + rest[1:]


def sideloads(
    account: Account, entries: list[TicketEntry], includes: tuple[str, ...]
) -> dict[str, list[dict]]:
    """Return the top-level sideload arrays named in `includes`."""
    arrays: dict[str, list[dict]] = {}
    if "users" in includes:
        user_ids = {user_id for entry in entries for user_id in entry.user_ids}
        arrays["users"] = _lookup(account.users, user_ids)
    if "groups" in includes:
        arrays["groups"] = _lookup(account.groups, {e.group_id for e in entries})
    if "organizations" in includes:
        organization_ids = {entry.organization_id for entry in entries}
        arrays["organizations"] = _lookup(account.organizations, organization_ids)
    if "brands" in includes:
        arrays["brands"] = _lookup(account.brands, {e.brand_id for e in entries})
    if "metric_sets" in includes:
        arrays["metric_sets"] = [
            build_metric_set(
                account.base_url,
                entry.id,
                (entry.created_at, entry.updated_at),
                entry.status,
            )
            for entry in entries
        ]
    # NOTE: metric_events, slas, dates and comment_count are accepted but add nothing.
    return arrays


def _lookup(objects: dict[int, dict], ids: set[int | None]) -> list[dict]:
    return [
        objects[key]
        for key in sorted(k for k in ids if k is not None)
        if key in objects
    ]

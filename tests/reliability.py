"""Helpers for the fault, rate-limit, edge-case, soak and kill tests."""

from __future__ import annotations

import contextlib
import io
import logging
import typing as t
from dataclasses import dataclass, field
from itertools import pairwise

from fake_zendesk import Account, FakeZendesk, Fault
from tap_zendesk_incremental.tap import TapZendeskIncremental
from tests.helpers import API_TOKEN, EMAIL, Run, parse_lines

if t.TYPE_CHECKING:
    import pytest

    from fake_zendesk import VirtualClock

EXPORT_PREFIX = "/api/v2/incremental/"
# Generated history ends this long before now, as in Account.generate.
NEWEST_AGE_SECONDS = 120
TAP_LOGGER = "tap-zendesk-incremental"


def spaced_account(now: float, count: int, step: int = 100, seed: int = 11) -> Account:
    """Build an account of ``count`` tickets, one every ``step`` seconds.

    Distinct timestamps make page boundaries easy to predict: with page size P,
    page k (from 1) ends at ticket index ``(P - 1) * k``, because each page
    starts again with the ticket at the previous ``end_time``.
    """
    account = Account(seed=seed)
    newest = int(now) - NEWEST_AGE_SECONDS
    first = newest - (count - 1) * step
    for index in range(count):
        account.create(1, at=first + index * step)
    return account


def seconds_of(account: Account) -> list[int]:
    """Return every ``generated_timestamp`` of the account in export order."""
    return sorted(stamp for _, stamp in account.versions())


class Servers:
    """Fake Zendesk servers started by one test, all stopped at teardown."""

    def __init__(self, clock: VirtualClock) -> None:
        self.clock = clock
        self.started: list[FakeZendesk] = []

    def start(self, account: Account, **options: t.Any) -> FakeZendesk:
        server = FakeZendesk(
            account, clock=self.clock, email=EMAIL, api_token=API_TOKEN, **options
        )
        server.start()
        self.started.append(server)
        return server

    def stop_all(self) -> None:
        for server in self.started:
            server.stop()


def tap_config(server: FakeZendesk, **overrides: t.Any) -> dict:
    """Return a tap config for ``server``: every ticket, page size 50, no pacing."""
    config = {
        "api_url": server.url,
        "email": EMAIL,
        "api_token": API_TOKEN,
        "page_size": 50,
        "max_requests_per_minute": 1000,
        "max_retries": 4,
        "request_timeout": 5,
        "support_type_scope": "all",
    }
    config.update(overrides)
    return config


def enqueue_at(server: FakeZendesk, number: int, *faults: Fault) -> None:
    """Serve ``faults`` to export requests from request ``number`` (from 1) on."""

    def enqueue(_server: FakeZendesk, request_number: int) -> None:
        if request_number == number:
            server.faults.enqueue(*faults)

    server.on_request(enqueue)


def export_requests(server: FakeZendesk) -> list:
    """Return the server's export requests (time-based and cursor) in order."""
    return [r for r in server.requests if r.path.startswith(EXPORT_PREFIX)]


def statuses(server: FakeZendesk) -> list[int]:
    """Return the status of every export request; 0 is a reset connection."""
    return [r.status for r in export_requests(server)]


@dataclass
class RequestTimes:
    """Virtual-clock time at which the server received each export request."""

    clock: VirtualClock
    times: list[float] = field(default_factory=list)

    def record(self, server: FakeZendesk, number: int) -> None:
        del server, number
        self.times.append(self.clock.time())

    def gaps(self) -> list[float]:
        """Return the seconds between consecutive export requests."""
        return [later - earlier for earlier, later in pairwise(self.times)]


def track_times(server: FakeZendesk, clock: VirtualClock) -> RequestTimes:
    """Start recording when each export request reaches ``server``."""
    tracker = RequestTimes(clock)
    server.on_request(tracker.record)
    return tracker


def wait_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """Return the tap's WARNING records about waiting or retrying."""
    return [
        record
        for record in caplog.records
        if record.name == TAP_LOGGER
        and record.levelno == logging.WARNING
        and record.getMessage().startswith(("Waiting ", "Sending the next request"))
    ]


def page_end_indexes(count: int, page_size: int) -> list[int]:
    """Return the ticket index each page ends at, for distinct timestamps.

    Every page but the first starts with the ticket at the previous end, so a page
    adds ``page_size - 1`` new tickets. A page with fewer than ``page_size``
    tickets ends the export, and so does a full page at the last ticket only when
    a further request finds it alone.
    """
    ends = []
    end = page_size - 1
    while end < count - 1:
        ends.append(end)
        end += page_size - 1
    ends.append(count - 1)
    if end == count - 1:
        # The page ending at the last ticket was full: one more request returns
        # that ticket alone and ends the export at the same second.
        ends.append(count - 1)
    return ends


def expected_bookmarks(seconds: list[int], page_size: int) -> list[int]:
    """Return the STATE bookmarks of a clean run over distinct ``seconds``.

    One per page, then the SDK's final STATE repeats the last one.
    """
    ends = [seconds[index] for index in page_end_indexes(len(seconds), page_size)]
    return [*ends, ends[-1]]


def run_until_error(config: dict, state: dict | None = None) -> tuple[Run, Exception]:
    """Run a sync in this process that must fail, and return its output and error.

    Raises:
        AssertionError: If the sync finishes without an error.
    """
    raw = io.BytesIO()
    stream = io.TextIOWrapper(raw, encoding="utf-8", write_through=True)
    tap = TapZendeskIncremental(config=config, state=state, validate_config=True)
    error = None
    with contextlib.redirect_stdout(stream):
        try:
            tap.sync_all()
        except Exception as exc:  # noqa: BLE001 - the caller checks the type
            error = exc
    stream.flush()
    if error is None:
        message = "expected the sync to fail, but it finished"
        raise AssertionError(message)
    return Run(messages=parse_lines(raw.getvalue().decode("utf-8"))), error

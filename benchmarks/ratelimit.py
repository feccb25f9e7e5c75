"""Rate-limit mode: the tap in-process against a limited server on a virtual clock.

The server allows 10 export requests per rolling 60 seconds, Zendesk's documented
limit, and the tap is configured with the same limit. Both read one
``VirtualClock``, whose ``sleep`` moves time forward at once, so an export that
takes minutes of rate-limit waits runs in seconds of real time.
"""

from __future__ import annotations

import contextlib
import io
import math
import time
from dataclasses import dataclass
from http import HTTPStatus
from typing import TYPE_CHECKING

from fake_zendesk import Account, FakeZendesk, VirtualClock
from tap_zendesk_incremental import pacing
from tap_zendesk_incremental.tap import TapZendeskIncremental

if TYPE_CHECKING:
    from collections.abc import Iterator

    from _typeshed import ReadableBuffer

EMAIL = "bench@example.com"
API_TOKEN = "bench-token-3f8a"  # noqa: S105
EXPORT_PREFIX = "/api/v2/incremental/"
REQUESTS_PER_MINUTE = 10
WINDOW_SECONDS = 60
TICKET_RECORD_START = b'{"type":"RECORD","stream":"tickets"'


@dataclass(frozen=True)
class RateLimitResult:
    """Figures of one rate-limited export.

    Attributes:
        tickets: Tickets in the account.
        page_size: ``per_page`` of the export requests.
        requests: Export requests the server received, 429 responses included.
        too_many_requests: Export requests rejected with HTTP 429.
        records: RECORD messages of the tickets stream.
        virtual_seconds: Virtual time from the first export request to the last.
        run_virtual_seconds: Virtual time of the whole run, from the tap's start.
        bound_seconds: The earliest the last request could go after the first.
        real_seconds: Real time the whole export took.
    """

    tickets: int
    page_size: int
    requests: int
    too_many_requests: int
    records: int
    virtual_seconds: float
    run_virtual_seconds: float
    bound_seconds: float
    real_seconds: float


class RecordCounter(io.RawIOBase):
    """A stdout stand-in that counts the RECORD messages of tickets, keeping nothing."""

    def __init__(self) -> None:
        """Start with no records counted."""
        super().__init__()
        self.records = 0
        self._tail = b""

    def writable(self) -> bool:
        """Accept writes."""
        return True

    def write(self, data: ReadableBuffer) -> int:
        """Count the RECORD messages of tickets that start in ``data``.

        The last bytes of the previous write are prepended, one fewer than the
        marker's length, so a marker split between two writes counts once.
        """
        chunk = self._tail + bytes(data)
        self.records += chunk.count(TICKET_RECORD_START)
        self._tail = chunk[-(len(TICKET_RECORD_START) - 1) :]
        return len(data)


def time_bound(requests: int) -> float:
    """Return the earliest second the last of ``requests`` can go after the first.

    With at most 10 requests in any 60 seconds, the k-th request cannot go before
    floor((k - 1) / 10) * 60 seconds.
    """
    return math.floor((requests - 1) / REQUESTS_PER_MINUTE) * WINDOW_SECONDS


@contextlib.contextmanager
def virtual_pacing(clock: VirtualClock) -> Iterator[None]:
    """Make the tap's request pacer read and sleep on ``clock``."""
    saved = pacing.CLOCK
    pacing.CLOCK = clock
    try:
        yield
    finally:
        pacing.CLOCK = saved


def run_ratelimit(tickets: int, page_size: int) -> RateLimitResult:
    """Export ``tickets`` tickets under the rate limit and measure the waits."""
    clock = VirtualClock(start=float(int(time.time())))
    account = Account.generate(count=tickets, seed=7, now=clock.time())
    server = FakeZendesk(
        account,
        clock=clock,
        email=EMAIL,
        api_token=API_TOKEN,
        rate_limit_per_minute=REQUESTS_PER_MINUTE,
    )
    arrivals: list[float] = []
    server.on_request(lambda _server, _number: arrivals.append(clock.time()))

    counter = RecordCounter()
    started = time.perf_counter()
    virtual_start = clock.time()
    with server, virtual_pacing(clock):
        export(server.url, page_size, counter)
    real_seconds = time.perf_counter() - started
    run_virtual_seconds = clock.time() - virtual_start

    statuses = [
        request.status
        for request in server.requests
        if request.path.startswith(EXPORT_PREFIX)
    ]
    return RateLimitResult(
        tickets=tickets,
        page_size=page_size,
        requests=len(statuses),
        too_many_requests=statuses.count(HTTPStatus.TOO_MANY_REQUESTS),
        records=counter.records,
        virtual_seconds=arrivals[-1] - arrivals[0],
        run_virtual_seconds=run_virtual_seconds,
        bound_seconds=time_bound(len(statuses)),
        real_seconds=real_seconds,
    )


def export(url: str, page_size: int, counter: RecordCounter) -> None:
    """Run the tap in this process with its stdout going to ``counter``."""
    config = {
        "api_url": url,
        "email": EMAIL,
        "api_token": API_TOKEN,
        "start_date": "2000-01-01T00:00:00Z",
        "page_size": page_size,
        "support_type_scope": "all",
        "max_requests_per_minute": REQUESTS_PER_MINUTE,
    }
    tap = TapZendeskIncremental(config=config, validate_config=True)
    stdout = io.TextIOWrapper(io.BufferedWriter(counter), encoding="utf-8")
    with contextlib.redirect_stdout(stdout):
        tap.sync_all()
    stdout.flush()

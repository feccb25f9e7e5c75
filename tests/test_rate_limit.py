"""Rate limits on the virtual clock: pacing, X-Rate-Limit-Remaining and 429s."""

from __future__ import annotations

import email.utils
import logging

import pytest

from fake_zendesk import Fault
from tap_zendesk_incremental.pacing import SAFETY_MARGIN_SECONDS, WINDOW_SECONDS
from tests.helpers import run_in_process
from tests.reliability import (
    Servers,
    expected_bookmarks,
    export_requests,
    seconds_of,
    spaced_account,
    statuses,
    tap_config,
    track_times,
    wait_warnings,
)

# 1450 tickets at page size 50 take 30 pages: 29 full ones and 29 tickets.
PACED_TICKETS = 1450
PACED_PAGES = 30
LIMIT = 10
WINDOW_WAIT = WINDOW_SECONDS + SAFETY_MARGIN_SECONDS
# 120 tickets at page size 50 take 3 pages.
SMALL_TICKETS = 120
SMALL_PAGES = 3


@pytest.fixture
def servers(clock):
    pool = Servers(clock)
    yield pool
    pool.stop_all()


def paced_times(start: float) -> list[float]:
    """Return when each of the 30 requests goes out: 10 per window."""
    return [start + WINDOW_WAIT * (number // LIMIT) for number in range(PACED_PAGES)]


def max_in_any_minute(times: list[float]) -> int:
    return max(
        sum(1 for other in times if start <= other < start + WINDOW_SECONDS)
        for start in times
    )


def test_pacing_stays_under_limit(servers, clock, caplog):
    caplog.set_level(logging.WARNING)
    account = spaced_account(clock.time(), PACED_TICKETS)
    server = servers.start(account, rate_limit_per_minute=LIMIT)
    times = track_times(server, clock)
    start = clock.time()
    config = tap_config(server)
    del config["max_requests_per_minute"]  # the default is Zendesk's 10

    run = run_in_process(config)

    assert sorted(run.versions()) == account.versions()
    assert len(run.versions()) == PACED_TICKETS
    assert run.bookmarks() == expected_bookmarks(seconds_of(account), 50)
    assert statuses(server) == [200] * PACED_PAGES
    assert times.times == paced_times(start)
    assert max_in_any_minute(times.times) == LIMIT
    warnings = wait_warnings(caplog)
    assert [record.args[0] for record in warnings] == [WINDOW_WAIT, WINDOW_WAIT]
    for record in warnings:
        assert "rate limit of 10 export requests per minute" in record.getMessage()


def test_remaining_zero_makes_tap_wait(servers, clock, caplog):
    """With no limit of its own, the tap waits on X-Rate-Limit-Remaining: 0."""
    caplog.set_level(logging.WARNING)
    account = spaced_account(clock.time(), PACED_TICKETS)
    server = servers.start(account, rate_limit_per_minute=LIMIT)
    times = track_times(server, clock)
    start = clock.time()

    run = run_in_process(tap_config(server, max_requests_per_minute=1000))

    assert sorted(run.versions()) == account.versions()
    assert run.bookmarks() == expected_bookmarks(seconds_of(account), 50)
    assert statuses(server) == [200] * PACED_PAGES
    assert times.times == paced_times(start)
    warnings = wait_warnings(caplog)
    assert [record.args[0] for record in warnings] == [WINDOW_WAIT, WINDOW_WAIT]
    for record in warnings:
        assert "no export requests remaining" in record.getMessage()


def test_quota_used_elsewhere_waits_retry_after(servers, clock, caplog):
    """Another client used the minute's quota: one 429, then the tap waits it out."""
    caplog.set_level(logging.WARNING)
    account = spaced_account(clock.time(), SMALL_TICKETS)
    server = servers.start(account, rate_limit_per_minute=LIMIT)
    for _ in range(LIMIT):
        assert server.limiter.acquire().allowed
    times = track_times(server, clock)

    run = run_in_process(tap_config(server, max_requests_per_minute=LIMIT))

    assert sorted(run.versions()) == account.versions()
    assert run.bookmarks() == expected_bookmarks(seconds_of(account), 50)
    assert statuses(server) == [429] + [200] * SMALL_PAGES
    assert times.gaps() == [WINDOW_WAIT, 0.0, 0.0]
    warnings = wait_warnings(caplog)
    assert len(warnings) == 1
    assert warnings[0].args[0] == WINDOW_WAIT
    message = warnings[0].getMessage()
    assert "try 1 of 5 failed with HTTP 429" in message
    assert "no export requests remaining" in message


def http_date_in(clock, seconds: int) -> str:
    return email.utils.formatdate(clock.time() + seconds, usegmt=True)


# Retry-After value (sent verbatim, None for no header), body format and the
# wait the tap must take.
RETRY_AFTER_CASES = {
    "json": ("7", "json", 7.0),
    "text": ("7", "text", 7.0),
    "html": ("7", "html", 7.0),
    "decimal": ("2.5", "json", 2.5),
    "missing": (None, "json", 60.0),
    "missing-html": (None, "html", 60.0),
    "list": ("50, 53", "json", 50.0),
    "list-text": ("50, 53", "text", 50.0),
    "http-date": ("http-date", "json", 30.0),
}


@pytest.mark.parametrize("case", RETRY_AFTER_CASES.values(), ids=RETRY_AFTER_CASES)
def test_429_waits_retry_after(servers, clock, caplog, case):
    retry_after, body, expected_wait = case
    caplog.set_level(logging.WARNING)
    account = spaced_account(clock.time(), SMALL_TICKETS)
    server = servers.start(account)
    if retry_after == "http-date":
        retry_after = http_date_in(clock, 30)
    server.faults.enqueue(Fault.rate_limited(retry_after=retry_after, body=body))
    times = track_times(server, clock)

    run = run_in_process(tap_config(server))

    assert sorted(run.versions()) == account.versions()
    assert len(run.versions()) == SMALL_TICKETS
    assert run.bookmarks() == expected_bookmarks(seconds_of(account), 50)
    assert statuses(server) == [429] + [200] * SMALL_PAGES
    assert times.gaps() == [expected_wait, 0.0, 0.0]
    warnings = wait_warnings(caplog)
    assert len(warnings) == 1
    assert warnings[0].args[0] == expected_wait
    assert "try 1 of 5 failed with HTTP 429" in warnings[0].getMessage()


def test_429_on_every_try_gives_up(servers, clock):
    account = spaced_account(clock.time(), SMALL_TICKETS)
    server = servers.start(account)
    server.faults.enqueue(*[Fault.rate_limited(retry_after="5")] * 3)
    times = track_times(server, clock)

    with pytest.raises(Exception, match=r"after 3 tries: HTTP 429") as failure:
        run_in_process(tap_config(server, max_retries=2))

    assert type(failure.value).__name__ == "ZendeskAPIError"
    assert statuses(server) == [429, 429, 429]
    assert times.gaps() == [5.0, 5.0]
    assert len(export_requests(server)) == 3

"""Server faults: retries with backoff, giving up cleanly, and malformed pages."""

from __future__ import annotations

import logging

import pytest

from fake_zendesk import Fault
from tap_zendesk_incremental.errors import ExportShapeError, ZendeskAPIError
from tests.helpers import API_TOKEN, EMAIL, run_cli, run_in_process
from tests.reliability import (
    Servers,
    enqueue_at,
    expected_bookmarks,
    export_requests,
    page_end_indexes,
    run_until_error,
    seconds_of,
    spaced_account,
    statuses,
    tap_config,
    track_times,
    wait_warnings,
)

# 250 tickets at page size 50: pages end at indexes 49, 98, 147, 196, 245, 249.
TICKETS = 250
PAGE_SIZE = 50
PAGES = 6
TRUNCATED_STATUS = 200  # the status line arrives, half of the body does not

# Each fault, the status the server records for it and the failure the tap logs.
RETRIED_FAULTS = {
    "500-json": (Fault.status(500), 500, "HTTP 500 InternalServerError"),
    "500-html": (Fault.status(500, body="html"), 500, "HTTP 500 Internal Server"),
    "502-json": (Fault.status(502), 502, "HTTP 502 BadGateway"),
    "502-html": (Fault.status(502, body="html"), 502, "HTTP 502 Bad Gateway"),
    "503-json": (Fault.status(503), 503, "HTTP 503 ServiceUnavailable"),
    "503-html": (Fault.status(503, body="html"), 503, "HTTP 503 Service Unavail"),
    "504-json": (Fault.status(504), 504, "HTTP 504 GatewayTimeout"),
    "504-html": (Fault.status(504, body="html"), 504, "HTTP 504 Gateway Timeout"),
    "200-html": (Fault.status(200, body="html"), 200, "incomplete or invalid JSON"),
    "200-text": (Fault.status(200, body="text"), 200, "incomplete or invalid JSON"),
    "reset": (Fault.connection_reset(), 0, "connection error"),
    "truncated": (
        Fault.truncated_body(),
        TRUNCATED_STATUS,
        "connection closed before the whole body arrived",
    ),
}


@pytest.fixture
def servers(clock):
    pool = Servers(clock)
    yield pool
    pool.stop_all()


@pytest.fixture
def account(clock):
    return spaced_account(clock.time(), TICKETS)


def backoff_ceiling(try_number: int) -> float:
    """Return the longest wait after failed try ``try_number`` (from 1)."""
    return min(60.0, 2.0**try_number)


@pytest.mark.parametrize("case", RETRIED_FAULTS.values(), ids=RETRIED_FAULTS)
def test_fault_retried_with_backoff(servers, account, clock, caplog, case):
    fault, status, failure = case
    caplog.set_level(logging.WARNING)
    server = servers.start(account)
    server.faults.enqueue(fault, fault)
    times = track_times(server, clock)

    run = run_in_process(tap_config(server, page_size=PAGE_SIZE))

    assert sorted(run.versions()) == account.versions()
    assert len(run.versions()) == TICKETS
    assert run.bookmarks() == expected_bookmarks(seconds_of(account), PAGE_SIZE)
    assert statuses(server) == [status, status] + [200] * PAGES
    gaps = times.gaps()
    assert backoff_ceiling(1) / 2 <= gaps[0] <= backoff_ceiling(1)
    assert backoff_ceiling(2) / 2 <= gaps[1] <= backoff_ceiling(2)
    assert gaps[2:] == [0.0] * (PAGES - 1)
    warnings = wait_warnings(caplog)
    assert [record.args[0] for record in warnings] == gaps[:2]
    assert f"try 1 of 5 failed with {failure}" in warnings[0].getMessage()
    assert f"try 2 of 5 failed with {failure}" in warnings[1].getMessage()


def test_backoff_grows_to_cap(servers, account, clock, caplog):
    """Waits double per try, each drawn at random from its upper half, up to 60 s."""
    caplog.set_level(logging.WARNING)
    server = servers.start(account)
    failures = 8
    server.faults.enqueue(*[Fault.status(500)] * failures)
    times = track_times(server, clock)

    run = run_in_process(tap_config(server, max_retries=failures))

    assert sorted(run.versions()) == account.versions()
    assert len(export_requests(server)) == failures + PAGES
    waits = times.gaps()[:failures]
    for try_number, wait in enumerate(waits, start=1):
        ceiling = backoff_ceiling(try_number)
        assert ceiling / 2 <= wait <= ceiling, (try_number, wait)
    assert backoff_ceiling(failures) == 60.0
    ceilings = [backoff_ceiling(number) for number in range(1, failures + 1)]
    assert waits != ceilings  # jitter: random waits, not the ceilings themselves
    assert len(wait_warnings(caplog)) == failures


def test_503_waits_retry_after(servers, account, clock, caplog):
    caplog.set_level(logging.WARNING)
    server = servers.start(account)
    server.faults.enqueue(Fault.status(503, body="html", retry_after="12"))
    times = track_times(server, clock)

    run = run_in_process(tap_config(server))

    assert sorted(run.versions()) == account.versions()
    assert run.bookmarks() == expected_bookmarks(seconds_of(account), PAGE_SIZE)
    assert statuses(server) == [503] + [200] * PAGES
    assert times.gaps() == [12.0] + [0.0] * (PAGES - 1)
    warnings = wait_warnings(caplog)
    assert len(warnings) == 1
    assert warnings[0].args[0] == 12.0
    assert "retry after 12 s" in warnings[0].getMessage()


def test_zero_retry_after_logs_retry(servers, account, caplog):
    caplog.set_level(logging.WARNING)
    server = servers.start(account)
    server.faults.enqueue(Fault.status(503, retry_after="0"))

    run = run_in_process(tap_config(server))

    assert sorted(run.versions()) == account.versions()
    assert statuses(server) == [503] + [200] * PAGES
    warnings = wait_warnings(caplog)
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    assert message.startswith("Sending the next request at once: try 1 of 5")


def test_read_timeout_retried(servers, account, caplog):
    """One response slower than request_timeout: real seconds, kept to one."""
    caplog.set_level(logging.WARNING)
    server = servers.start(account)
    server.faults.enqueue(Fault.slow(seconds=2.0))

    run = run_in_process(tap_config(server, request_timeout=1))

    assert sorted(run.versions()) == account.versions()
    assert run.bookmarks() == expected_bookmarks(seconds_of(account), PAGE_SIZE)
    assert len(export_requests(server)) == 1 + PAGES
    warnings = wait_warnings(caplog)
    assert len(warnings) == 1
    assert "try 1 of 5 failed with request timed out" in warnings[0].getMessage()


def test_retries_run_out_in_process(servers, account):
    server = servers.start(account)
    enqueue_at(server, 3, *[Fault.status(502)] * 3)

    with pytest.raises(ZendeskAPIError, match="after 3 tries: HTTP 502"):
        run_in_process(tap_config(server, max_retries=2))

    assert statuses(server) == [200, 200, 502, 502, 502]


def test_retries_run_out_cli(servers, account):
    """The CLI exits 1 with one ERROR line, and its last STATE resumes exactly."""
    server = servers.start(account)
    # Retry-After: 0 keeps the real-clock CLI run fast.
    enqueue_at(server, 3, *[Fault.status(503, retry_after="0")] * 3)
    config = tap_config(server, max_retries=2)
    seconds = seconds_of(account)
    ends = [seconds[index] for index in page_end_indexes(TICKETS, PAGE_SIZE)]

    run = run_cli(config)

    assert run.exit_code == 1
    assert statuses(server) == [200, 200, 503, 503, 503]
    assert run.bookmarks() == ends[:2]
    emitted = set(run.versions())
    assert emitted == {v for v in account.versions() if v[1] <= ends[1]}
    assert len(run.versions()) == len(emitted)
    error_lines = [line for line in run.stderr.splitlines() if "| ERROR" in line]
    assert len(error_lines) == 1, error_lines
    line = error_lines[0]
    assert "Request failed after 3 tries: HTTP 503" in line
    url = f"{server.url}/api/v2/incremental/tickets.json?start_time={ends[1]}"
    assert f"GET {url}&per_page=50" in line
    assert "Traceback" not in run.stderr
    assert API_TOKEN not in run.stderr
    assert EMAIL not in run.stderr

    rerun = run_in_process(config, state=run.last_state)

    assert set(rerun.versions()) == {v for v in account.versions() if v[1] >= ends[1]}
    assert emitted | set(rerun.versions()) == set(account.versions())
    assert rerun.bookmarks() == [ends[1], *ends[2:], ends[-1]]


MALFORMED = {
    "no_tickets": "has no `tickets` array",
    "ticket_without_id": "has no integer `id`",
    "ticket_without_generated_timestamp": "has no integer `generated_timestamp`",
    "end_time_not_integer": "has `end_time` = '",
}


@pytest.mark.parametrize("kind", MALFORMED)
def test_malformed_page_stops_run(servers, account, kind):
    server = servers.start(account)
    enqueue_at(server, 2, Fault.malformed(kind))
    first_end = seconds_of(account)[PAGE_SIZE - 1]

    run, error = run_until_error(tap_config(server))

    assert isinstance(error, ExportShapeError)
    assert MALFORMED[kind] in str(error)
    assert "stopping rather than" in str(error)
    assert statuses(server) == [200, 200]
    assert run.bookmarks() == [first_end]
    assert set(run.versions()) == {v for v in account.versions() if v[1] <= first_end}
    assert len(run.versions()) == PAGE_SIZE


def test_malformed_page_cli_exits_1(servers, account):
    server = servers.start(account)
    enqueue_at(server, 2, Fault.malformed("ticket_without_id"))

    run = run_cli(tap_config(server))

    assert run.exit_code == 1
    assert len(export_requests(server)) == 2
    assert run.bookmarks() == [seconds_of(account)[PAGE_SIZE - 1]]
    error_lines = [line for line in run.stderr.splitlines() if "| ERROR" in line]
    assert len(error_lines) == 1, error_lines
    assert MALFORMED["ticket_without_id"] in error_lines[0]
    assert "Traceback" not in run.stderr

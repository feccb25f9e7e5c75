"""Edge cases of the export: crowded seconds, changes during a run, bad state."""

from __future__ import annotations

import datetime
import json
import time

import pytest

from fake_zendesk import Fault
from tap_zendesk_incremental.errors import ZendeskAPIError
from tap_zendesk_incremental.tap import TapZendeskIncremental
from tests.helpers import run_cli, run_in_process, state_with_bookmark
from tests.reliability import (
    Servers,
    enqueue_at,
    export_requests,
    run_until_error,
    seconds_of,
    spaced_account,
    statuses,
    tap_config,
)

TICKETS = 200
BULK = 120
PAGE_SIZE = 50
TIME_BASED = "/api/v2/incremental/tickets.json"
CURSOR = "/api/v2/incremental/tickets/cursor.json"


@pytest.fixture
def servers(clock):
    pool = Servers(clock)
    yield pool
    pool.stop_all()


def request_plan(server) -> list[tuple[str, int | None]]:
    """Return each export request as (path, start_time), None when a cursor."""
    plan = []
    for request in export_requests(server):
        start_time = request.query.get("start_time")
        plan.append((request.path, None if start_time is None else int(start_time)))
    return plan


def crowded_account(clock, where: str):
    """Build 200 spaced tickets and move 120 of them into one second.

    Returns:
        The account, the seconds before the bulk update, and the crowded second,
        which lies before, among or after the other 80 tickets.
    """
    account = spaced_account(clock.time(), TICKETS)
    seconds = seconds_of(account)
    ids = account.ids()
    if where == "first":
        moved, crowded = ids[:BULK], seconds[0] - 50
    elif where == "middle":
        moved, crowded = ids[40 : 40 + BULK], seconds[169] + 50
    else:
        moved, crowded = ids[-BULK:], seconds[-1] + 50
    account.bulk_update(moved, at=crowded)
    return account, seconds, crowded


def time_based(*start_times: int) -> list[tuple[str, int]]:
    return [(TIME_BASED, start_time) for start_time in start_times]


def expected_crowded_run(mode: str, where: str, seconds: list[int], crowded: int):
    """Return the requests and STATE bookmarks of one crowded-second run.

    ``seconds`` are the ticket times before the bulk update: tickets 0 to 199
    one every 100 s. In "grow" mode Zendesk's page takes the whole crowded
    second. In "stall" mode the page ending at the crowded second repeats, so
    the tap reads that second through three cursor pages of 50, 50 and 20.
    """
    cursor = [(CURSOR, crowded), (CURSOR, None), (CURSOR, None)]
    plans = {
        ("grow", "first"): (
            time_based(0, crowded, seconds[120], seconds[169]),
            [crowded, seconds[120], seconds[169], seconds[199], seconds[199]],
        ),
        ("grow", "middle"): (
            time_based(0, seconds[169], crowded, seconds[170]),
            [seconds[169], crowded, seconds[170], seconds[199], seconds[199]],
        ),
        ("grow", "last"): (
            time_based(0, seconds[49], crowded),
            [seconds[49], crowded, crowded],
        ),
        ("stall", "first"): (
            [*time_based(0, crowded), *cursor, *time_based(crowded + 1, seconds[169])],
            [crowded, crowded + 1, seconds[169], seconds[199], seconds[199]],
        ),
        ("stall", "middle"): (
            [*time_based(0, seconds[169], crowded), *cursor, *time_based(crowded + 1)],
            [seconds[169], crowded, crowded + 1, seconds[199], seconds[199]],
        ),
        ("stall", "last"): (
            [*time_based(0, seconds[49], crowded), *cursor, *time_based(crowded + 1)],
            [seconds[49], crowded, crowded + 1, crowded + 1],
        ),
    }
    return plans[mode, where]


@pytest.mark.parametrize("where", ["first", "middle", "last"])
@pytest.mark.parametrize("mode", ["grow", "stall"])
def test_crowded_second_exported_once(servers, clock, mode, where):
    account, seconds, crowded = crowded_account(clock, where)
    server = servers.start(account, same_second=mode)

    run = run_in_process(tap_config(server, page_size=PAGE_SIZE))

    assert sorted(run.versions()) == account.versions()
    assert len(run.versions()) == TICKETS
    crowded_ids = {ticket_id for ticket_id, at in run.versions() if at == crowded}
    assert len(crowded_ids) == BULK
    requests, bookmarks = expected_crowded_run(mode, where, seconds, crowded)
    assert request_plan(server) == requests
    assert statuses(server) == [200] * len(requests)
    assert run.bookmarks() == bookmarks


def test_crowded_second_resumes_from_it(servers, clock):
    """A bookmark at a stalled second: the rerun reads that second again."""
    account, seconds, crowded = crowded_account(clock, "middle")
    server = servers.start(account, same_second="stall")
    state = state_with_bookmark(crowded)

    run = run_in_process(tap_config(server), state=state)

    expected = {v for v in account.versions() if v[1] >= crowded}
    assert set(run.versions()) == expected
    assert len(run.versions()) == len(expected)
    cursor = [(CURSOR, crowded), (CURSOR, None), (CURSOR, None)]
    assert request_plan(server) == [
        (TIME_BASED, crowded),
        *cursor,
        (TIME_BASED, crowded + 1),
    ]
    # The first STATE repeats the input state.
    assert run.bookmarks() == [
        crowded,
        crowded,
        crowded + 1,
        seconds[199],
        seconds[199],
    ]


def test_malformed_cursor_page_stops_run(servers, clock):
    account, _, crowded = crowded_account(clock, "middle")
    server = servers.start(account, same_second="stall")

    # Requests 1 to 3 are time-based pages, 4 and 5 the first two cursor pages.
    enqueue_at(server, 5, Fault.malformed("ticket_without_id"))

    run, error = run_until_error(tap_config(server))

    assert "has no integer `id`" in str(error)
    assert len(export_requests(server)) == 5
    assert run.bookmarks() == [seconds_of(account)[49], crowded]


def test_too_recent_in_cursor_read(servers, clock):
    """A too-recent response while reading a crowded second keeps its bookmark."""
    account, seconds, crowded = crowded_account(clock, "middle")
    server = servers.start(account, same_second="stall")
    # Requests 1 to 3 are time-based pages, 4 the first cursor page.
    enqueue_at(server, 4, Fault.too_recent(status=422))
    config = tap_config(server)

    run = run_in_process(config)

    before = {v for v in account.versions() if v[1] < crowded}
    at_crowded = {v for v in run.versions() if v[1] == crowded}
    assert set(run.versions()) == before | at_crowded
    assert len(at_crowded) == PAGE_SIZE  # the time-based pages' share of it
    assert len(run.versions()) == len(before) + PAGE_SIZE
    assert statuses(server) == [200, 200, 200, 422]
    assert run.bookmarks() == [seconds[169], crowded, crowded]

    rerun = run_in_process(config, state=run.last_state)

    assert set(run.versions()) | set(rerun.versions()) == set(account.versions())
    assert rerun.bookmarks()[-1] == seconds[199]


def test_updates_during_export_reappear(servers, clock):
    """Tickets changed mid-run come again at their new version, after the old."""
    account = spaced_account(clock.time(), 250)
    ids = account.ids()
    emitted_early = ids[:5]  # on page 1, before the change
    not_yet_emitted = ids[200:205]  # on page 5, moved before it is read
    changed = emitted_early + not_yet_emitted
    changed_at = int(clock.time()) - 90
    server = servers.start(account)
    original = set(account.versions())

    def change_tickets(_server, number: int) -> None:
        if number == 3:
            account.update(changed, at=changed_at)

    server.on_request(change_tickets)

    run = run_in_process(tap_config(server, page_size=PAGE_SIZE))

    old_unread = {v for v in original if v[0] in not_yet_emitted}
    expected = (original - old_unread) | {(i, changed_at) for i in changed}
    assert set(run.versions()) == expected
    assert len(run.versions()) == len(expected)
    assert set(account.versions()) <= set(run.versions())
    stamps = [at for _, at in run.versions()]
    assert stamps == sorted(stamps)
    for ticket_id in changed:
        versions = [at for i, at in run.versions() if i == ticket_id]
        assert versions[-1] == changed_at
    # Pages end at tickets 49, 98, 147 and 196. The fifth page contains the 49
    # unchanged tickets left and grows to take all 10 changed ones, whose
    # second a sixth page reads alone to reach end_of_stream.
    seconds = sorted(at for _, at in original)
    assert len(export_requests(server)) == 6
    assert run.bookmarks() == [
        seconds[49],
        seconds[98],
        seconds[147],
        seconds[196],
        changed_at,
        changed_at,
    ]


def test_system_update_exported(servers, clock):
    """A system update moves generated_timestamp only: updated_at stays older."""
    account = spaced_account(clock.time(), 100)
    server = servers.start(account)
    config = tap_config(server)
    first = run_in_process(config)
    bookmark = first.bookmarks()[-1]
    changed = account.ids()[10:13]
    changed_at = int(clock.time()) - 90
    account.system_update(changed, at=changed_at)
    requests_before = len(export_requests(server))

    second = run_in_process(config, state=first.last_state)

    at_bookmark = {v for v in account.versions() if v[1] == bookmark}
    assert set(second.versions()) == at_bookmark | {(i, changed_at) for i in changed}
    assert len(second.versions()) == 1 + len(changed)
    for record in second.records():
        if record["id"] in changed:
            updated_at = datetime.datetime.fromisoformat(record["updated_at"])
            assert updated_at.timestamp() < bookmark
    assert len(export_requests(server)) - requests_before == 1
    assert second.bookmarks() == [bookmark, changed_at, changed_at]


@pytest.mark.parametrize("status", [422, 400])
def test_too_recent_answer_stops_cleanly(servers, clock, status):
    account = spaced_account(clock.time(), 250)
    server = servers.start(account)
    enqueue_at(server, 3, Fault.too_recent(status=status))
    config = tap_config(server)
    seconds = seconds_of(account)

    run = run_in_process(config)

    assert set(run.versions()) == {v for v in account.versions() if v[1] <= seconds[98]}
    assert statuses(server) == [200, 200, status]
    assert run.bookmarks() == [seconds[49], seconds[98], seconds[98]]

    rerun = run_in_process(config, state=run.last_state)

    assert set(run.versions()) | set(rerun.versions()) == set(account.versions())


def test_other_400_stops_run(servers, clock):
    account = spaced_account(clock.time(), 250)
    server = servers.start(account)
    server.faults.enqueue(Fault.status(400))

    run, error = run_until_error(tap_config(server))

    assert isinstance(error, ZendeskAPIError)
    assert "HTTP 400" in str(error)
    assert run.records() == []
    assert statuses(server) == [400]


@pytest.mark.parametrize("exclude_deleted", [False, True])
def test_deleted_tickets(servers, clock, exclude_deleted):
    account = spaced_account(clock.time(), 120)
    deleted = account.ids()[5:10]
    account.delete(deleted, at=int(clock.time()) - 90)
    server = servers.start(account)

    run = run_in_process(tap_config(server, exclude_deleted=exclude_deleted))

    emitted = {record["id"]: record for record in run.records()}
    not_deleted = [v for v in account.versions() if v[0] not in deleted]
    if exclude_deleted:
        assert sorted(run.versions()) == not_deleted
        assert not set(deleted) & set(emitted)
    else:
        assert sorted(run.versions()) == account.versions()
        for ticket_id in deleted:
            assert emitted[ticket_id]["status"] == "deleted"
    for request in export_requests(server):
        expected = "true" if exclude_deleted else None
        assert request.query.get("exclude_deleted") == expected
    assert len(export_requests(server)) == 3


def select_all_catalog(config: dict, folder) -> str:
    """Write a catalog with every stream selected and return its path."""
    catalog = TapZendeskIncremental(config=config).catalog_dict
    for stream in catalog["streams"]:
        for entry in stream["metadata"]:
            if entry["breadcrumb"] == []:
                entry["metadata"]["selected"] = True
    path = folder / "catalog.json"
    path.write_text(json.dumps(catalog))
    return str(path)


# Invalid bookmarks and how the error message shows them.
INVALID_BOOKMARKS = {
    "text": ("abc", "'abc'"),
    "digits-as-text": ("1700000000", "'1700000000'"),
    "decimal": (1700000000.5, "1700000000.5"),
    "future": ("future", "is in the future"),
}


@pytest.mark.parametrize("case", INVALID_BOOKMARKS.values(), ids=INVALID_BOOKMARKS)
def test_invalid_bookmark_rejected(servers, clock, tmp_path, case):
    value, expected_text = case
    if value == "future":
        value = int(time.time()) + 86_400
    server = servers.start(spaced_account(clock.time(), 20))
    config = tap_config(server)
    catalog = select_all_catalog(config, tmp_path)

    run = run_cli(
        config, state=state_with_bookmark(value), extra_args=("--catalog", catalog)
    )

    assert run.exit_code == 1
    assert server.requests == []
    assert run.records() == []
    error_lines = [line for line in run.stderr.splitlines() if "| ERROR" in line]
    assert len(error_lines) == 1, error_lines
    line = error_lines[0]
    assert "Invalid bookmark for stream 'tickets'" in line
    assert expected_text in line
    assert "meltano state clear" in line
    assert "Traceback" not in run.stderr

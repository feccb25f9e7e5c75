"""Tickets stream against the fake Zendesk server: export, state and duplicates."""

from __future__ import annotations

import datetime
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from jsonschema import Draft202012Validator

from fake_zendesk import Fault
from tap_zendesk_incremental.schemas import TICKET
from tests.helpers import run_in_process, state_with_bookmark


def export_requests(server) -> list:
    return [r for r in server.requests if r.path.startswith("/api/v2/incremental/")]


def test_export_emits_every_version_once(server, account, config):
    run = run_in_process(config)

    assert sorted(run.versions()) == sorted(account.versions())
    assert len(run.versions()) == len(set(run.versions()))
    pages = math.ceil(len(account.tickets) / config["page_size"])
    assert len(export_requests(server)) <= pages + 2


def test_records_validate_against_schema(account, config):
    run = run_in_process(config)
    validator = Draft202012Validator(TICKET)

    for record in run.records():
        errors = [error.message for error in validator.iter_errors(record)]
        assert errors == [], record["id"]


def test_state_follows_each_page(server, config):
    run = run_in_process(config)

    bookmarks = []
    emitted = 0
    for message in run.messages:
        if message["type"] == "RECORD":
            emitted += 1
        if message["type"] == "STATE" and emitted:
            value = message["value"]["bookmarks"]["tickets"]["replication_key_value"]
            bookmarks.append(value)
    assert bookmarks == sorted(bookmarks)
    assert run.last_state["bookmarks"]["tickets"]["replication_key"] == (
        "generated_timestamp"
    )
    assert bookmarks[-1] == max(ts for _, ts in run.versions())


def test_state_never_inside_a_page(server, config):
    """Every STATE bookmark is a page's end_time, never a ticket mid-page."""
    run = run_in_process(config)

    versions_before = []
    for message in run.messages:
        if message["type"] == "RECORD":
            versions_before.append(message["record"]["generated_timestamp"])
        elif message["type"] == "STATE" and versions_before:
            value = message["value"]["bookmarks"]["tickets"]["replication_key_value"]
            assert value >= max(versions_before)


def test_resume_from_bookmark(account, config):
    seconds = sorted({ts for _, ts in account.versions()})
    bookmark = seconds[len(seconds) // 2]

    run = run_in_process(config, state=state_with_bookmark(bookmark))

    expected = sorted(v for v in account.versions() if v[1] >= bookmark)
    assert sorted(run.versions()) == expected


def test_start_date_later_than_bookmark_wins(account, config):
    seconds = sorted({ts for _, ts in account.versions()})
    start = seconds[-10]
    config["start_date"] = _iso(start)

    run = run_in_process(config, state=state_with_bookmark(seconds[0]))

    assert sorted(run.versions()) == sorted(
        v for v in account.versions() if v[1] >= start
    )


def test_second_run_reads_only_changes(account, config, clock):
    first = run_in_process(config)
    changed = sorted(account.tickets)[:7]
    account.update(changed, at=int(clock.time()) - 90)

    second = run_in_process(config, state=first.last_state)

    last_second = first.last_state["bookmarks"]["tickets"]["replication_key_value"]
    expected = {(i, account.tickets[i]["generated_timestamp"]) for i in changed}
    at_bookmark = {v for v in first.versions() if v[1] == last_second}
    assert set(second.versions()) == expected | at_bookmark


def test_boundary_duplicates_dropped(server, account, config):
    config["page_size"] = 7

    run = run_in_process(config)

    assert len(run.versions()) == len(set(run.versions()))
    assert sorted(run.versions()) == sorted(account.versions())
    served = sum(1 for r in export_requests(server))
    assert served >= math.ceil(len(account.tickets) / 7)


def test_stops_at_end_of_stream_despite_next_page(server, account, config):
    config["page_size"] = 1000

    run = run_in_process(config)

    assert len(export_requests(server)) == 1
    assert len(run.records()) == len(account.tickets)


def test_start_date_in_last_minute_is_caught_up(server, clock, config):
    config["start_date"] = _iso(int(clock.time()) - 30)

    run = run_in_process(config)

    assert run.records() == []
    assert export_requests(server) == []
    for value in run.bookmarks():
        assert value is None or value <= clock.time()


def test_start_date_in_future_is_caught_up(server, clock, config):
    config["start_date"] = _iso(int(clock.time()) + 86_400)

    run = run_in_process(config)

    assert run.records() == []
    assert export_requests(server) == []


def test_recent_bookmark_is_caught_up(server, clock, config):
    state = state_with_bookmark(int(clock.time()) - 20)

    run = run_in_process(config, state=state)

    assert run.records() == []
    assert export_requests(server) == []
    assert run.bookmarks()[-1] == int(clock.time()) - 20


def test_too_recent_answer_is_caught_up(server, account, config):
    server.faults.enqueue(Fault.too_recent(status=422))

    run = run_in_process(config)

    assert run.records() == []


def test_kill_between_pages_then_resume(server, account, config):
    """SIGKILL after a few pages; the rerun from the last STATE fills every gap."""
    config["page_size"] = 20
    first_records, last_state = _run_and_kill(config, after_states=4)
    assert last_state is not None

    rerun = run_in_process(config, state=last_state)

    delivered = set(first_records) | set(rerun.versions())
    assert delivered == set(account.versions())


def _run_and_kill(config: dict, after_states: int) -> tuple[list, dict | None]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "config.json")
        path.write_text(json.dumps(config))
        process = subprocess.Popen(
            [sys.executable, "-m", "tap_zendesk_incremental", "--config", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "TAP_ZENDESK_INCREMENTAL_LOGLEVEL": "WARNING"},
        )
        records, last_state, states = [], None, 0
        for line in process.stdout:
            message = json.loads(line)
            if message["type"] == "RECORD":
                record = message["record"]
                records.append((record["id"], record["generated_timestamp"]))
            elif message["type"] == "STATE":
                last_state, states = message["value"], states + 1
                if states > after_states:
                    process.send_signal(signal.SIGKILL)
                    break
        process.wait(timeout=30)
    return records, last_state


def _iso(epoch: int) -> str:
    return datetime.datetime.fromtimestamp(epoch, tz=datetime.UTC).isoformat()

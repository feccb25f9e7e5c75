"""SIGKILL at random points: each rerun from the last STATE loses no ticket."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import typing as t
from dataclasses import dataclass, field

import pytest

from tests.reliability import Servers, export_requests, spaced_account, tap_config

if t.TYPE_CHECKING:
    from pathlib import Path

TICKETS = 400
PAGE_SIZE = 20
KILLS = 5
KILL_SEED = 8_675_309
BULK_SIZE = 45
# Kills stay this many lines (about 150 KB) before the end of the output: a
# rerun whose rest fits in the pipe buffer may exit before the kill arrives.
END_MARGIN_LINES = 60


@pytest.fixture
def servers(clock):
    pool = Servers(clock)
    yield pool
    pool.stop_all()


@dataclass
class Delivery:
    """The records and last STATE that a target committing at each STATE keeps."""

    committed: list[tuple[int, int]] = field(default_factory=list)
    state: dict | None = None
    lines: int = 0
    exit_code: int = 0


def run_and_kill(
    config: dict, state: dict | None, folder: Path, kill_after: int | None
) -> Delivery:
    """Run the tap CLI and SIGKILL it after reading ``kill_after`` lines.

    Records count as delivered only once a later STATE message arrives, as a
    target that commits at each STATE keeps them. With ``kill_after`` None the
    run goes to the end.
    """
    config_path = folder / "config.json"
    config_path.write_text(json.dumps(config))
    args = [
        sys.executable,
        "-m",
        "tap_zendesk_incremental",
        "--config",
        str(config_path),
    ]
    if state is not None:
        state_path = folder / "state.json"
        state_path.write_text(json.dumps(state))
        args += ["--state", str(state_path)]
    delivery = Delivery(state=state)
    pending: list[tuple[int, int]] = []
    process = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "TAP_ZENDESK_INCREMENTAL_LOGLEVEL": "WARNING"},
    )
    assert process.stdout is not None
    for line in process.stdout:
        delivery.lines += 1
        message = json.loads(line)
        if message["type"] == "RECORD" and message["stream"] == "tickets":
            record = message["record"]
            pending.append((record["id"], record["generated_timestamp"]))
        elif message["type"] == "STATE":
            delivery.committed += pending
            pending = []
            delivery.state = message["value"]
        if kill_after is not None and delivery.lines >= kill_after:
            process.send_signal(signal.SIGKILL)
            break
    process.stdout.close()
    delivery.exit_code = process.wait(timeout=60)
    return delivery


def bookmark_of(state: dict | None) -> int | None:
    if state is None:
        return None
    return state["bookmarks"]["tickets"]["replication_key_value"]


def test_kill_and_resume_delivers_all(servers, clock, tmp_path):
    account = spaced_account(clock.time(), TICKETS)
    # A crowded second, read through the cursor export, gives kills more
    # places to land.
    ids = account.ids()
    crowded = account.versions()[200][1] + 50
    account.bulk_update(ids[150 : 150 + BULK_SIZE], at=crowded)
    server = servers.start(account, same_second="stall")
    config = tap_config(server, page_size=PAGE_SIZE)
    clean = run_and_kill(config, None, tmp_path, kill_after=None)
    clean_requests = len(export_requests(server))
    assert clean.exit_code == 0
    assert sorted(clean.committed) == account.versions()
    rng = random.Random(KILL_SEED)
    kill_points = sorted(rng.sample(range(2, clean.lines - END_MARGIN_LINES), KILLS))

    delivered: set[tuple[int, int]] = set()
    state = None
    bookmarks = []
    lines_read = 0
    for kill_point in kill_points:
        # Kill points are positions in the output of one uninterrupted run, so
        # each rerun reads about as far as the next one.
        killed = run_and_kill(config, state, tmp_path, kill_point - lines_read)
        lines_read = kill_point
        assert killed.exit_code == -signal.SIGKILL
        delivered |= set(killed.committed)
        state = killed.state
        bookmarks.append(bookmark_of(state))
    final = run_and_kill(config, state, tmp_path, kill_after=None)

    assert final.exit_code == 0
    assert delivered | set(final.committed) == set(account.versions())
    resumed = {v for v in account.versions() if v[1] >= bookmark_of(state)}
    assert set(final.committed) == resumed
    assert bookmark_of(final.state) == bookmark_of(clean.state)
    progress = [value for value in bookmarks if value is not None]
    assert progress == sorted(progress)
    assert len(progress) >= KILLS - 1
    # Each run sends at most the requests of a whole run, so nothing loops.
    assert len(export_requests(server)) <= (KILLS + 2) * clean_requests

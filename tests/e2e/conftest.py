"""Fixtures of the end-to-end tests: Meltano with its plugins, PostgreSQL, fake servers.

The tests skip when Meltano or PostgreSQL is missing, unless ZENDESK_E2E_REQUIRED=1
(set by scripts/test.sh), in which case they fail.
"""

from __future__ import annotations

import os
import subprocess
from typing import TYPE_CHECKING

import pytest

from tests.e2e.support import (
    REPO,
    FakeServer,
    Meltano,
    PausingServer,
    Postgres,
    copy_project,
    find_meltano,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator
    from pathlib import Path

PLUGINS = (
    "tap-zendesk-incremental",
    "target-postgres",
    "target-duckdb",
    "target-jsonl",
)
PAGE_SIZE = 50


def unavailable(reason: str) -> None:
    """Skip the test, or fail it when the end-to-end tests are required."""
    if os.environ.get("ZENDESK_E2E_REQUIRED") == "1":
        pytest.fail(f"end-to-end tests required but {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def meltano_executable() -> Path:
    """Return the meltano CLI after installing the tests' plugins once."""
    executable = find_meltano()
    if executable is None:
        unavailable("meltano not installed (run scripts/test.sh)")
    completed = subprocess.run(
        [str(executable), "--log-level=warning", "install", *PLUGINS],
        cwd=REPO,
        env={**os.environ, "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false"},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if completed.returncode != 0:
        pytest.fail(f"meltano install failed:\n{completed.stderr[-4000:]}")
    return executable


@pytest.fixture(scope="session")
def postgres() -> Postgres:
    """Return the PostgreSQL database from the PG* variables."""
    database, reason = Postgres.from_environment()
    if database is None:
        unavailable(reason)
    return database


def meltano_env(state_dir: Path, api_url: str, **extra: str) -> dict[str, str]:
    """Build the environment of Meltano commands for one fake account.

    The system database, and so the state, is a file in `state_dir`, so that no two
    tests share a bookmark. Output files go there too.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env.update(
        {
            "MELTANO_ENVIRONMENT": "fake",
            "MELTANO_SEND_ANONYMOUS_USAGE_STATS": "false",
            "MELTANO_DATABASE_URI": f"sqlite:///{state_dir / 'meltano.db'}",
            "ZENDESK_API_URL": api_url,
            "TAP_ZENDESK_INCREMENTAL_PAGE_SIZE": str(PAGE_SIZE),
            "TARGET_JSONL_DESTINATION_PATH": str(state_dir / "jsonl"),
            "TARGET_DUCKDB_FILEPATH": str(state_dir / "warehouse.duckdb"),
        }
    )
    env.update(extra)
    (state_dir / "jsonl").mkdir(exist_ok=True)
    return env


@pytest.fixture(scope="module")
def start_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable]:
    """Return a function that starts fake servers, all stopped after the module.

    `start(tickets, seed)` runs `python -m fake_zendesk`. With `pausing=True` it
    starts a :class:`PausingServer` in this process instead, which can hold
    export requests.
    """
    servers: list[FakeServer | PausingServer] = []
    log_dir = tmp_path_factory.mktemp("fake-zendesk")

    def start(
        tickets: int = 300, seed: int = 7, *, pausing: bool = False
    ) -> FakeServer | PausingServer:
        if pausing:
            server: FakeServer | PausingServer = PausingServer(tickets, seed)
        else:
            server = FakeServer(tickets, seed, log_dir / f"server-{len(servers)}.log")
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(scope="module")
def make_meltano(
    meltano_executable: Path, tmp_path_factory: pytest.TempPathFactory
) -> Callable[..., Meltano]:
    """Return a function that builds a Meltano driver with its own state."""

    def make(api_url: str, **extra: str) -> Meltano:
        state_dir = tmp_path_factory.mktemp("meltano")
        project = copy_project(state_dir / "project")
        env = meltano_env(state_dir, api_url, **extra)
        return Meltano(meltano_executable, project, env)

    return make

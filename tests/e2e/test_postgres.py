"""`meltano run tap-zendesk-incremental target-postgres` against a fake account."""

from __future__ import annotations

import time
from dataclasses import dataclass

import pytest

from tests.e2e.support import (
    FakeServer,
    Postgres,
    RunResult,
    bookmark,
    flatten,
    table_differences,
)

pytestmark = pytest.mark.e2e

STATE_ID = "fake:tap-zendesk-incremental-to-target-postgres"
PIPELINE = ("run", "tap-zendesk-incremental", "target-postgres")


@dataclass
class TwoRuns:
    """A full load, a change of the fake account, and an incremental load."""

    server: FakeServer
    schema: str
    first_run: RunResult
    first_tickets: dict[int, dict]
    first_rows: list[dict]
    first_bookmark: int
    changed_ids: set[int]
    second_run: RunResult
    second_tickets: dict[int, dict]
    second_rows: list[dict]
    column_types: dict[str, str]


@pytest.fixture(scope="module")
def two_runs(postgres: Postgres, start_server, make_meltano) -> TwoRuns:
    schema = "e2e_postgres"
    postgres.drop_schema(schema)
    server = start_server(tickets=300, seed=11)
    meltano = make_meltano(server.url, TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA=schema)

    first_run = meltano.run(*PIPELINE)
    first_tickets = server.tickets()
    first_rows = postgres.rows(schema)
    first_bookmark = bookmark(meltano.state(STATE_ID))

    changed_ids = {*server.update(20), *server.create(10), *server.delete(5)}
    second_run = meltano.run(*PIPELINE)
    return TwoRuns(
        server=server,
        schema=schema,
        first_run=first_run,
        first_tickets=first_tickets,
        first_rows=first_rows,
        first_bookmark=first_bookmark,
        changed_ids=changed_ids,
        second_run=second_run,
        second_tickets=server.tickets(),
        second_rows=postgres.rows(schema),
        column_types=postgres.column_types(schema),
    )


def test_first_run_loads_every_ticket(two_runs: TwoRuns):
    ids = [row["id"] for row in two_runs.first_rows]

    assert len(ids) == len(set(ids))
    assert set(ids) == set(two_runs.first_tickets)
    assert two_runs.first_run.records_read() == len(two_runs.first_tickets)
    assert table_differences(two_runs.first_rows, two_runs.first_tickets) == []


def test_second_run_reads_only_changes(two_runs: TwoRuns):
    # The export's start_time is inclusive, so tickets that share the bookmark's
    # second are read again along with the changed ones.
    expected = {
        ticket_id
        for ticket_id, ticket in two_runs.second_tickets.items()
        if ticket["generated_timestamp"] >= two_runs.first_bookmark
    }

    # 20 updated, 10 created and 5 deleted, where a deleted one may be updated too.
    assert 30 <= len(two_runs.changed_ids) <= 35
    assert two_runs.changed_ids <= expected
    assert len(expected) < len(two_runs.changed_ids) + 5
    assert two_runs.second_run.records_read() == len(expected)


def test_second_run_matches_account(two_runs: TwoRuns):
    ids = [row["id"] for row in two_runs.second_rows]
    deleted = [
        ticket_id
        for ticket_id, ticket in two_runs.second_tickets.items()
        if ticket["status"] == "deleted"
    ]

    assert len(ids) == len(set(ids)) == len(two_runs.second_tickets)
    assert len(deleted) >= 5
    assert table_differences(two_runs.second_rows, two_runs.second_tickets) == []


def test_rows_keep_large_ids(two_runs: TwoRuns):
    largest = max(row["id"] for row in two_runs.second_rows)
    requester_ids = [row["requester_id"] for row in two_runs.second_rows]

    assert largest > 2**31
    assert max(filter(None, requester_ids)) > 2**31


def test_column_types(two_runs: TwoRuns):
    types = two_runs.column_types

    assert types["id"] == "int8"
    assert types["generated_timestamp"] == "int8"
    assert types["requester_id"] == "int8"
    assert types["created_at"] == "timestamp"
    assert types["updated_at"] == "timestamp"
    assert types["due_at"] == "timestamp"
    assert types["is_public"] == "bool"
    assert types["has_incidents"] == "bool"
    assert types["subject"] == "text"
    assert types["via"] == "jsonb"
    assert types["satisfaction_rating"] == "jsonb"
    assert types["dates"] == "jsonb"
    # Lists are declared without `items`, so each is one JSONB value.
    assert types["tags"] == "jsonb"
    assert types["collaborator_ids"] == "jsonb"
    assert types["custom_fields"] == "jsonb"


def test_killed_run_resumes(postgres: Postgres, start_server, make_meltano):
    schema = "e2e_postgres_killed"
    postgres.drop_schema(schema)
    server = start_server(tickets=300, seed=12, pausing=True)
    # Batches of 50 rows are committed as they fill. target-postgres sends STATE
    # only at the end of its input (or after 5 minutes), so a killed run stores
    # none and the next run starts again from the previous run's bookmark.
    meltano = make_meltano(
        server.url,
        TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA=schema,
        TARGET_POSTGRES_BATCH_SIZE_ROWS="50",
    )
    meltano.run(*PIPELINE)
    stored = bookmark(meltano.state(STATE_ID))
    # Three seconds of up to 50 changes each (a ticket may change twice), so
    # that an export page contains about 50 and the kill comes before the last one.
    changed: set[int] = set()
    for _ in range(3):
        changed.update(server.update(50))
        time.sleep(1.1)
    tickets = server.tickets()
    change_time = min(tickets[i]["generated_timestamp"] for i in changed)

    def first_batch_written(_lines: list[str]) -> bool:
        rows = postgres.query(
            f"SELECT count(*) FROM {schema}.tickets "
            f"WHERE generated_timestamp >= {change_time}"
        )
        return int(rows[0]) > 0

    server.pause_after(1)
    meltano.run_and_kill(*PIPELINE, when=first_batch_written)
    server.resume()
    killed_rows = postgres.rows(schema)
    after_kill = bookmark(meltano.state(STATE_ID))
    resumed = meltano.run(*PIPELINE, "--force")
    tickets = server.tickets()
    expected = {i for i, t in tickets.items() if t["generated_timestamp"] >= stored}
    rows = postgres.rows(schema)

    updated_before_kill = [
        row for row in killed_rows if row["generated_timestamp"] >= change_time
    ]
    assert 0 < len(updated_before_kill) < len(changed)
    assert after_kill == stored
    assert changed <= expected
    assert resumed.records_read() == len(expected)
    assert table_differences(rows, tickets) == []


def test_flattened_columns(postgres: Postgres, start_server, make_meltano):
    schema = "e2e_postgres_flat"
    postgres.drop_schema(schema)
    server = start_server(tickets=100, seed=13)
    meltano = make_meltano(
        server.url,
        TARGET_POSTGRES_DEFAULT_TARGET_SCHEMA=schema,
        TAP_ZENDESK_INCREMENTAL_FLATTENING_ENABLED="true",
        TAP_ZENDESK_INCREMENTAL_FLATTENING_MAX_DEPTH="1",
    )

    meltano.run(*PIPELINE)
    tickets = {ticket_id: flatten(t) for ticket_id, t in server.tickets().items()}
    types = postgres.column_types(schema)
    rows = postgres.rows(schema)

    assert types["via__channel"] == "text"
    assert types["satisfaction_rating__score"] == "text"
    assert types["satisfaction_rating__id"] == "int8"
    assert "via" not in types
    # Flattening turns lists and deeper objects into JSON text.
    assert types["custom_fields"] == "text"
    assert types["via__source"] == "text"
    text_columns = frozenset(name for name, kind in types.items() if kind == "text")
    assert table_differences(rows, tickets, text_columns) == []

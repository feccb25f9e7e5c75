"""`meltano run tap-zendesk-incremental target-duckdb` against a fake account."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.support import (
    bookmark,
    read_duckdb,
    state_stored,
    table_differences,
)

pytestmark = pytest.mark.e2e

STATE_ID = "fake:tap-zendesk-incremental-to-target-duckdb"
PIPELINE = ("run", "tap-zendesk-incremental", "target-duckdb")
SCHEMA = "zendesk"


def json_columns(types: dict[str, str]) -> frozenset[str]:
    """Return the columns that DuckDB stores as JSON text."""
    return frozenset(name for name, kind in types.items() if kind == "JSON")


@pytest.fixture(scope="module")
def loads(start_server, make_meltano, meltano_executable) -> dict:
    server = start_server(tickets=300, seed=21)
    meltano = make_meltano(server.url)
    path = Path(meltano.env["TARGET_DUCKDB_FILEPATH"])

    first_run = meltano.run(*PIPELINE)
    first_tickets = server.tickets()
    _first_types, first_rows = read_duckdb(path, SCHEMA)
    first_bookmark = bookmark(meltano.state(STATE_ID))

    changed = {*server.update(20), *server.create(10), *server.delete(5)}
    second_run = meltano.run(*PIPELINE)
    second_types, second_rows = read_duckdb(path, SCHEMA)
    return {
        "first_run": first_run,
        "first_tickets": first_tickets,
        "first_rows": first_rows,
        "first_bookmark": first_bookmark,
        "changed": changed,
        "second_run": second_run,
        "second_tickets": server.tickets(),
        "second_rows": second_rows,
        "types": second_types,
    }


def test_first_run_loads_every_ticket(loads: dict):
    ids = [row["id"] for row in loads["first_rows"]]
    columns = json_columns(loads["types"])

    assert len(ids) == len(set(ids)) == len(loads["first_tickets"])
    assert loads["first_run"].records_read() == len(loads["first_tickets"])
    assert table_differences(loads["first_rows"], loads["first_tickets"], columns) == []


def test_second_run_reads_only_changes(loads: dict):
    expected = {
        ticket_id
        for ticket_id, ticket in loads["second_tickets"].items()
        if ticket["generated_timestamp"] >= loads["first_bookmark"]
    }

    assert loads["changed"] <= expected
    assert loads["second_run"].records_read() == len(expected)


def test_second_run_matches_account(loads: dict):
    columns = json_columns(loads["types"])
    differences = table_differences(
        loads["second_rows"], loads["second_tickets"], columns
    )

    assert len(loads["second_rows"]) == len(loads["second_tickets"])
    assert differences == []


def test_column_types(loads: dict):
    types = loads["types"]

    # Integers with a `maximum` of 2**63 - 1, not HUGEINT.
    assert types["id"] == "BIGINT"
    assert types["generated_timestamp"] == "BIGINT"
    assert types["created_at"] == "TIMESTAMP"
    assert types["is_public"] == "BOOLEAN"
    assert types["subject"] == "VARCHAR"
    assert types["via"] == "JSON"
    assert types["custom_fields"] == "JSON"
    assert types["tags"] == "JSON"
    assert types["satisfaction_rating"] == "JSON"


def test_killed_run_resumes(start_server, make_meltano):
    server = start_server(tickets=300, seed=22, pausing=True)
    # target-duckdb writes, then sends STATE, after every 50 rows.
    meltano = make_meltano(server.url, TARGET_DUCKDB_BATCH_SIZE_ROWS="50")
    path = Path(meltano.env["TARGET_DUCKDB_FILEPATH"])
    tickets = server.tickets()
    newest = max(ticket["generated_timestamp"] for ticket in tickets.values())

    # Four pages reach the loader, then the export stalls until the kill.
    server.pause_after(4)
    meltano.run_and_kill(*PIPELINE, when=state_stored)
    server.resume()
    partial = bookmark(meltano.state(STATE_ID))
    _, killed_rows = read_duckdb(path, SCHEMA)
    # The killed run is still marked running, so the next one needs --force.
    resumed = meltano.run(*PIPELINE, "--force")
    types, rows = read_duckdb(path, SCHEMA)

    assert partial is not None
    assert partial < newest
    assert 0 < len(killed_rows) < len(tickets)
    assert 0 < resumed.records_read() < len(tickets)
    assert table_differences(rows, tickets, json_columns(types)) == []

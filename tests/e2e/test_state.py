"""Meltano state: `meltano elt --state-id`, `meltano state`, and two accounts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.support import Postgres, bookmark, table_differences

pytestmark = pytest.mark.e2e

ACME = "tap-zendesk-incremental--acme"


def jsonl_ids(meltano) -> list[int]:
    """Return the ticket ids that target-jsonl wrote, in file order."""
    path = Path(meltano.env["TARGET_JSONL_DESTINATION_PATH"]) / "tickets.jsonl"
    with path.open() as lines:
        return [json.loads(line)["id"] for line in lines]


def state_ids(meltano) -> list[str]:
    """Return the state ids that `meltano state list` prints."""
    return meltano.run("state", "list").stdout.split()


def test_elt_state_id_resumes(start_server, make_meltano):
    server = start_server(tickets=200, seed=31)
    meltano = make_meltano(server.url)
    pipeline = ("elt", "tap-zendesk-incremental", "target-jsonl", "--state-id=e2e-elt")

    first = meltano.run(*pipeline)
    first_bookmark = bookmark(meltano.state("e2e-elt"))
    changed = set(server.update(7))
    second = meltano.run(*pipeline)
    tickets = server.tickets()
    expected = {
        i for i, t in tickets.items() if t["generated_timestamp"] >= first_bookmark
    }

    assert first.records_read() == 200
    assert changed <= expected
    assert second.records_read() == len(expected)
    assert bookmark(meltano.state("e2e-elt")) > first_bookmark
    assert set(jsonl_ids(meltano)) == set(tickets)


def test_state_list_get_clear(start_server, make_meltano):
    server = start_server(tickets=100, seed=32)
    meltano = make_meltano(server.url)
    state_id = "fake:tap-zendesk-incremental-to-target-jsonl"

    meltano.run("run", "tap-zendesk-incremental", "target-jsonl")
    listed = state_ids(meltano)
    stored = bookmark(meltano.state(state_id))
    newest = max(t["generated_timestamp"] for t in server.tickets().values())
    meltano.run("state", "clear", "--force", state_id)
    after_clear = meltano.run("state", "get", state_id, check=False)
    reloaded = meltano.run("run", "tap-zendesk-incremental", "target-jsonl")

    assert listed == [state_id]
    assert stored == newest
    assert (
        after_clear.returncode != 0 or bookmark(json.loads(after_clear.stdout)) is None
    )
    assert reloaded.records_read() == 100


def test_two_accounts_keep_apart(postgres: Postgres, start_server, make_meltano):
    main_schema, acme_schema = "e2e_main", "e2e_acme"
    postgres.drop_schema(main_schema)
    postgres.drop_schema(acme_schema)
    main_server = start_server(tickets=150, seed=33)
    acme_server = start_server(tickets=120, seed=34)
    meltano = make_meltano(
        main_server.url,
        ZENDESK_ACME_API_URL=acme_server.url,
        TAP_ZENDESK_INCREMENTAL__LOAD_SCHEMA=main_schema,
        TAP_ZENDESK_INCREMENTAL__ACME__LOAD_SCHEMA=acme_schema,
    )
    jobs = ("run", "zendesk-to-postgres", "zendesk-acme-to-postgres")

    first = meltano.run(*jobs)
    main_state = "fake:tap-zendesk-incremental-to-target-postgres"
    acme_state = f"fake:{ACME}-to-target-postgres"
    main_bookmark = bookmark(meltano.state(main_state))
    acme_bookmark = bookmark(meltano.state(acme_state))
    changed = set(acme_server.update(6))
    second = meltano.run(*jobs)
    acme_tickets = acme_server.tickets()
    acme_expected = {
        i for i, t in acme_tickets.items() if t["generated_timestamp"] >= acme_bookmark
    }

    assert sorted(state_ids(meltano)) == sorted([main_state, acme_state])
    assert main_bookmark != acme_bookmark
    assert first.records_read() == 150
    assert first.records_read(ACME) == 120
    assert changed <= acme_expected
    assert second.records_read(ACME) == len(acme_expected)
    assert second.records_read() < 5
    assert bookmark(meltano.state(main_state)) == main_bookmark
    assert table_differences(postgres.rows(main_schema), main_server.tickets()) == []
    assert table_differences(postgres.rows(acme_schema), acme_tickets) == []

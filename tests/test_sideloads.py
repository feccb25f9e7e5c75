"""Sideload streams against the fake Zendesk server: records, requests and STATE."""

from __future__ import annotations

import contextlib
import io
import json

import pytest
from jsonschema import Draft202012Validator

from fake_zendesk import FakeZendesk
from fake_zendesk.metrics import build_metric_set
from tap_zendesk_incremental import settings
from tap_zendesk_incremental.errors import ExportShapeError, InvalidStateError
from tap_zendesk_incremental.sideloads import SIDELOAD_STREAM_TYPES
from tap_zendesk_incremental.tap import TapZendeskIncremental
from tests.helpers import (
    API_TOKEN,
    EMAIL,
    catalog_selecting,
    run_cli,
    run_in_process,
    state_with_bookmark,
)

SIDELOAD_STREAMS = {
    "users": "users",
    "groups": "groups",
    "organizations": "organizations",
    "brands": "brands",
    "ticket_metrics": "metric_sets",
}
EXPORT_PATH = "/api/v2/incremental/tickets.json"


def export_requests(server, since: int = 0) -> list:
    return [
        request
        for request in server.requests[since:]
        if request.path.startswith("/api/v2/incremental/")
    ]


def in_scope(account, config: dict, ticket_id: int) -> bool:
    """Tell whether the export's support_type_scope includes a ticket."""
    scope = config.get("support_type_scope", "agent")
    if scope == "all":
        return True
    return account.entry(ticket_id).ai_agent == (scope == "ai_agent")


def exported_tickets(account, config: dict) -> list[dict]:
    """Tickets that the export returns under the config's support_type_scope."""
    return [
        account.tickets[ticket_id]
        for ticket_id in account.ids()
        if in_scope(account, config, ticket_id)
    ]


def expected_objects(account, config: dict, stream: str) -> list[dict]:
    """Distinct sideloaded objects of the exported tickets, sorted by id."""
    tickets = exported_tickets(account, config)
    if stream == "ticket_metrics":
        metric_sets = []
        for ticket in tickets:
            entry = account.entry(ticket["id"])
            times = (entry.created_at, entry.updated_at)
            metric_sets.append(
                build_metric_set(account.base_url, entry.id, times, entry.status)
            )
        return sorted(metric_sets, key=lambda item: item["id"])

    keys = {
        "users": ("requester_id", "submitter_id", "assignee_id"),
        "groups": ("group_id",),
        "organizations": ("organization_id",),
        "brands": ("brand_id",),
    }[stream]
    objects = getattr(account, stream)
    ids = {ticket[key] for ticket in tickets for key in keys} - {None}
    return [objects[object_id] for object_id in sorted(ids)]


def by_id(records: list[dict]) -> list[dict]:
    return sorted(records, key=lambda record: record["id"])


def test_sideload_streams_equal_account_objects(server, account, config):
    tickets_only = run_in_process(config)
    baseline = len(export_requests(server))
    config["sideloads"] = list(settings.SIDELOADS)

    run = run_in_process(config)

    assert len(export_requests(server, baseline)) == baseline
    assert run.versions() == tickets_only.versions()
    for stream in SIDELOAD_STREAMS:
        assert by_id(run.records(stream)) == expected_objects(
            account, config, stream
        ), stream


def test_each_object_version_emitted_once(server, account, config):
    config["sideloads"] = list(settings.SIDELOADS)
    config["page_size"] = 10

    run = run_in_process(config)

    for stream in SIDELOAD_STREAMS:
        ids = [record["id"] for record in run.records(stream)]
        assert len(ids) == len(set(ids)), stream
        assert ids, stream


def test_changed_object_emitted_again(server, account, config):
    config["sideloads"] = ["users"]
    config["page_size"] = 20
    agent_id = account.catalog.agent_ids[0]

    def rename_agent(fake, number):
        if number == 3:
            user = account.users[agent_id]
            user["name"] = "Renamed Agent"
            user["updated_at"] = "2030-01-01T00:00:00Z"

    server.on_request(rename_agent)

    run = run_in_process(config)

    versions = [
        (record["name"], record["updated_at"])
        for record in run.records("users")
        if record["id"] == agent_id
    ]
    assert len(versions) == 2
    assert versions[1] == ("Renamed Agent", "2030-01-01T00:00:00Z")


def test_records_validate_against_schemas(server, account, config):
    config["sideloads"] = list(settings.SIDELOADS)
    run = run_in_process(config)
    tap = TapZendeskIncremental(config=config, validate_config=False)

    for stream in SIDELOAD_STREAMS:
        validator = Draft202012Validator(tap.streams[stream].schema)
        for record in run.records(stream):
            errors = [error.message for error in validator.iter_errors(record)]
            assert errors == [], (stream, record["id"])


def test_every_stream_schema_valid(config):
    """Targets such as target-postgres reject a SCHEMA that is not JSON Schema."""
    tap = TapZendeskIncremental(config=config, validate_config=False)

    for stream in tap.streams.values():
        Draft202012Validator.check_schema(stream.schema)


def test_schema_messages_carry_key(server, config):
    config["sideloads"] = ["users", "metric_sets"]

    run = run_in_process(config)

    schemas = {
        message["stream"]: message
        for message in run.messages
        if message["type"] == "SCHEMA"
    }
    assert set(schemas) == {"tickets", "users", "ticket_metrics"}
    assert schemas["users"]["key_properties"] == ["id"]
    assert schemas["users"]["schema"]["properties"]["id"]["type"] == ["integer"]
    first_record = next(m for m in run.messages if m["type"] == "RECORD")
    assert run.messages.index(schemas["users"]) < run.messages.index(first_record)


def test_include_names_selected_sideloads(server, config):
    config["sideloads"] = ["organizations", "users"]

    run_in_process(config)

    includes = {request.query.get("include") for request in export_requests(server)}
    assert includes == {"users,organizations"}


def test_tickets_only_sends_no_include(server, config):
    run_in_process(config)

    for request in export_requests(server):
        assert "include" not in request.query


def test_discovery_lists_every_sideload_stream(config):
    config["sideloads"] = ["groups"]
    tap = TapZendeskIncremental(config=config, validate_config=False)

    entries = {entry["tap_stream_id"]: entry for entry in tap.catalog_dict["streams"]}

    assert set(SIDELOAD_STREAMS) <= set(entries)
    for stream in SIDELOAD_STREAMS:
        root = next(m for m in entries[stream]["metadata"] if m["breadcrumb"] == [])
        assert root["metadata"]["selected-by-default"] is (stream == "groups"), stream
        assert entries[stream]["key_properties"] == ["id"]
        assert entries[stream]["replication_method"] == "INCREMENTAL"
        assert entries[stream].get("replication_key") is None


def test_stream_per_sideload_setting():
    assert {stream.sideload for stream in SIDELOAD_STREAM_TYPES} == set(
        settings.SIDELOADS
    )
    assert {stream.name for stream in SIDELOAD_STREAM_TYPES} == set(SIDELOAD_STREAMS)


def test_only_sideload_stream_selected(server, account, config):
    tickets_only = run_in_process(config)
    baseline = len(export_requests(server))
    catalog = catalog_selecting(config, "users")

    run = run_in_process(config, catalog=catalog)

    assert run.records("tickets") == []
    assert by_id(run.records("users")) == expected_objects(account, config, "users")
    assert len(export_requests(server, baseline)) == baseline
    assert {m["stream"] for m in run.messages if m["type"] == "SCHEMA"} == {"users"}
    final = run.last_state["bookmarks"]
    assert "replication_key_value" not in final.get("tickets", {})
    assert (
        final["users"]["replication_key_value"]
        == (tickets_only.last_state["bookmarks"]["tickets"]["replication_key_value"])
    )


def test_selected_stream_included_without_setting(server, config):
    catalog = catalog_selecting(config, "tickets", "brands")

    run = run_in_process(config, catalog=catalog)

    assert run.records("brands")
    assert run.records("users") == []
    includes = {request.query.get("include") for request in export_requests(server)}
    assert includes == {"brands"}


def test_configured_but_deselected_stream_gets_nothing(server, config):
    config["sideloads"] = ["users", "groups"]
    catalog = catalog_selecting(config, "tickets", "groups")

    run = run_in_process(config, catalog=catalog)

    assert run.records("users") == []
    assert run.records("groups")
    for request in export_requests(server):
        assert request.query.get("include") == "groups"


def test_state_moves_all_selected_bookmarks(server, config):
    config["sideloads"] = ["users", "brands"]
    config["page_size"] = 30

    run = run_in_process(config)

    page_states = [state for state in run.states if "tickets" in state["bookmarks"]]
    values = [
        state["bookmarks"]["tickets"].get("replication_key_value")
        for state in page_states
    ]
    assert len([value for value in values if value is not None]) >= 5
    for state in page_states:
        bookmarks = state["bookmarks"]
        ticket_value = bookmarks["tickets"].get("replication_key_value")
        for stream in ("users", "brands"):
            assert bookmarks[stream].get("replication_key_value") == ticket_value
            assert bookmarks[stream].get("replication_key") in {
                None,
                "generated_timestamp",
            }
        assert "groups" not in bookmarks


def test_state_follows_records_of_each_page(server, config):
    """Every sideload record of a page comes before the STATE of that page."""
    config["sideloads"] = ["users"]
    config["page_size"] = 25

    run = run_in_process(config)

    pending = 0
    for message in run.messages:
        if message["type"] == "RECORD" and message["stream"] == "users":
            pending += 1
        elif message["type"] == "STATE" and pending:
            assert message["value"]["bookmarks"]["users"]["replication_key_value"]
            pending = 0
    assert pending == 0


def test_deselected_bookmarks_untouched(server, config):
    state = state_with_bookmark(1_000)
    state["bookmarks"]["groups"] = {
        "replication_key": "generated_timestamp",
        "replication_key_value": 1_234,
    }
    catalog = catalog_selecting(config, "users")

    run = run_in_process(config, state=state, catalog=catalog)

    final = run.last_state["bookmarks"]
    assert final["groups"]["replication_key_value"] == 1_234
    assert final["tickets"]["replication_key_value"] == 1_000
    assert final["users"]["replication_key_value"] > 1_000


def test_run_starts_at_earliest_bookmark(server, account, config):
    seconds = sorted({ts for _, ts in account.versions()})
    early, late = seconds[40], seconds[200]
    state = state_with_bookmark(late)
    state["bookmarks"]["users"] = {
        "replication_key": "generated_timestamp",
        "replication_key_value": early,
    }
    config["sideloads"] = ["users"]

    run = run_in_process(config, state=state)

    assert export_requests(server)[0].query["start_time"] == str(early)
    assert min(ts for _, ts in run.versions()) == early
    final = run.last_state["bookmarks"]
    assert (
        final["users"]["replication_key_value"]
        == (final["tickets"]["replication_key_value"])
    )


def test_new_sideload_stream_starts_from_beginning(server, account, config):
    """A stream without a bookmark makes the run start at start_date again."""
    seconds = sorted({ts for _, ts in account.versions()})
    config["sideloads"] = ["groups"]

    run = run_in_process(config, state=state_with_bookmark(seconds[-5]))

    assert export_requests(server)[0].query["start_time"] == "0"
    assert by_id(run.records("groups")) == expected_objects(account, config, "groups")


def test_invalid_sideload_bookmark_names_stream(server, config):
    state = {"bookmarks": {"users": {"replication_key_value": "yesterday"}}}
    config["sideloads"] = ["users"]

    tap = TapZendeskIncremental(config=config, state=state, validate_config=False)
    with quiet_stdout(), pytest.raises(InvalidStateError, match="stream 'users'"):
        tap.sync_all()


def test_crowded_second_sideloads_read(clock, account, config):
    """Tickets read through the cursor export bring their sideloads too."""
    crowded = account.pick_active(30, "crowded")
    account.bulk_update(crowded, at=int(clock.time()) - 3_600)
    config["sideloads"] = ["users"]
    config["page_size"] = 10

    with FakeZendesk(
        account, clock=clock, email=EMAIL, api_token=API_TOKEN, same_second="stall"
    ) as stalling:
        config["api_url"] = stalling.url
        run = run_in_process(config)
        paths = {request.path for request in stalling.requests}

    assert "/api/v2/incremental/tickets/cursor.json" in paths
    assert by_id(run.records("users")) == expected_objects(account, config, "users")


def quiet_stdout() -> contextlib.AbstractContextManager:
    """Send the tap's Singer messages to a buffer, as the message writer needs."""
    return contextlib.redirect_stdout(io.TextIOWrapper(io.BytesIO()))


def sideload_stream(config: dict, name: str):
    tap = TapZendeskIncremental(config=config, validate_config=False)
    stream = tap.streams[name]
    with quiet_stdout():
        stream.start_export()
    return stream


@pytest.mark.parametrize(
    "body",
    [
        {"tickets": [], "users": {"id": 1}},
        {"tickets": [], "users": [{"name": "no id"}]},
        {"tickets": [], "users": [{"id": "7"}]},
        {"tickets": [], "users": [["not", "an", "object"]]},
    ],
)
def test_malformed_sideload_raises(config, body):
    stream = sideload_stream(config, "users")

    with pytest.raises(ExportShapeError, match="`users` sideload"):
        stream.write_sideload(body, None)


def test_missing_sideload_warns_once(config, caplog):
    stream = sideload_stream(config, "groups")
    body = {"tickets": [{"id": 1, "generated_timestamp": 2}]}

    with quiet_stdout():
        stream.write_sideload(body, None)
        stream.write_sideload(body, None)

    warnings = [r for r in caplog.records if "without the `groups`" in r.message]
    assert len(warnings) == 1


def test_dedupe_without_updated_at(config):
    stream = sideload_stream(config, "groups")
    first = {"id": 5, "name": "Support"}
    same = {"name": "Support", "id": 5}
    changed = {"id": 5, "name": "Billing"}

    with quiet_stdout():
        for group in (first, same, changed):
            stream.write_sideload({"groups": [dict(group)]}, None)

    assert stream.version_key(first, 0) == stream.version_key(same, 0)
    assert stream.version_key(first, 0) != stream.version_key(changed, 0)
    assert len(stream.written) == 2


def test_stream_map_applies_to_sideload(server, config):
    config["sideloads"] = ["users"]
    config["stream_maps"] = {"users": {"email": "__NULL__", "id_text": "str(id)"}}

    run = run_cli(config)

    assert run.exit_code == 0, run.stderr
    users = run.records("users")
    assert users
    for user in users:
        assert "email" not in user
        assert user["id_text"] == str(user["id"])
    schema = next(
        m["schema"]
        for m in run.messages
        if m["type"] == "SCHEMA" and m["stream"] == "users"
    )
    assert "email" not in schema["properties"]


def test_deselected_property_dropped(server, config):
    catalog = catalog_selecting(config, "tickets", "users")
    users = next(e for e in catalog["streams"] if e["tap_stream_id"] == "users")
    for metadata in users["metadata"]:
        if metadata["breadcrumb"] == ["properties", "email"]:
            metadata["metadata"]["selected"] = False

    run = run_in_process(config, catalog=catalog)

    assert run.records("users")
    for user in run.records("users"):
        assert "email" not in user
        assert "name" in user


def test_cli_catalog_selects_sideload(server, account, config, tmp_path):
    catalog_path = tmp_path / "catalog.json"
    catalog_path.write_text(json.dumps(catalog_selecting(config, "organizations")))

    run = run_cli(config, extra_args=("--catalog", str(catalog_path)))

    assert run.exit_code == 0, run.stderr
    assert run.records("tickets") == []
    expected = expected_objects(account, config, "organizations")
    assert by_id(run.records("organizations")) == expected

"""The tickets record path: direct writing keeps selection, maps and flattening."""

from __future__ import annotations

import datetime

from singer_sdk.streams import RESTStream

from tap_zendesk_incremental.client import ZendeskStream
from tap_zendesk_incremental.output import BufferedSingerWriter
from tests.helpers import catalog_selecting, run_in_process


def deselect(catalog: dict, stream: str, *breadcrumb: str) -> None:
    entry = next(e for e in catalog["streams"] if e["tap_stream_id"] == stream)
    for metadata in entry["metadata"]:
        if metadata["breadcrumb"] == ["properties", *breadcrumb]:
            metadata["metadata"]["selected"] = False


def without_time(run) -> list[dict]:
    return [
        {key: value for key, value in message.items() if key != "time_extracted"}
        for message in run.messages
        if message["type"] == "RECORD"
    ]


def test_direct_path_matches_sdk_path(server, config, monkeypatch):
    direct = run_in_process(config)
    sdk_path = RESTStream._write_record_message  # noqa: SLF001
    monkeypatch.setattr(ZendeskStream, "_write_record_message", sdk_path)

    through_sdk = run_in_process(config)

    assert direct.records()
    assert without_time(direct) == without_time(through_sdk)


def test_default_run_writes_directly(server, config, monkeypatch):
    written = []
    write_record = BufferedSingerWriter.write_record

    def count_record(writer, stream, *args):
        written.append(stream)
        write_record(writer, stream, *args)

    monkeypatch.setattr(BufferedSingerWriter, "write_record", count_record)

    run = run_in_process(config)

    assert written.count("tickets") == len(run.records())


def test_records_carry_time_extracted(server, config):
    run = run_in_process(config)

    records = [m for m in run.messages if m["type"] == "RECORD"]
    assert records
    for message in records:
        extracted = datetime.datetime.fromisoformat(message["time_extracted"])
        assert extracted.utcoffset() == datetime.timedelta(0)


def test_deselected_ticket_property_dropped(server, config):
    catalog = catalog_selecting(config, "tickets")
    deselect(catalog, "tickets", "description")

    run = run_in_process(config, catalog=catalog)

    assert run.records()
    for ticket in run.records():
        assert "description" not in ticket
        assert "subject" in ticket


def test_deselected_nested_property_dropped(server, config):
    catalog = catalog_selecting(config, "tickets")
    deselect(catalog, "tickets", "via", "properties", "source")

    run = run_in_process(config, catalog=catalog)

    assert run.records()
    for ticket in run.records():
        assert "source" not in ticket["via"]
        assert "channel" in ticket["via"]


def test_stream_map_applies_to_tickets(server, config):
    config["stream_maps"] = {
        "tickets": {"description": "__NULL__", "id_text": "str(id)"}
    }

    run = run_in_process(config)

    assert run.records()
    for ticket in run.records():
        assert "description" not in ticket
        assert ticket["id_text"] == str(ticket["id"])


def test_stream_map_alias_renames_stream(server, config):
    config["stream_maps"] = {"tickets": {"__alias__": "zendesk_tickets"}}

    run = run_in_process(config)

    assert run.records("zendesk_tickets")
    assert not run.records("tickets")


def test_flattening_applies_to_tickets(server, config):
    config["flattening_enabled"] = True
    config["flattening_max_depth"] = 1

    run = run_in_process(config)

    assert run.records()
    for ticket in run.records():
        assert "via" not in ticket
        assert "via__channel" in ticket

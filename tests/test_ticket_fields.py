"""The ticket_fields stream against the fake Zendesk server."""

from __future__ import annotations

import copy
import re

import pytest
from jsonschema import Draft202012Validator

from tap_zendesk_incremental.errors import ExportShapeError, ZendeskAPIError
from tap_zendesk_incremental.tap import TapZendeskIncremental
from tap_zendesk_incremental.ticket_fields import PAGE_SIZE, TICKET_FIELD
from tests.helpers import catalog_selecting, run_in_process
from tests.test_sideloads import quiet_stdout

FIELDS_PATH = "/api/v2/ticket_fields"


def field_requests(server) -> list:
    return [request for request in server.requests if request.path == FIELDS_PATH]


def add_fields(account, total: int) -> None:
    """Grow the account's ticket fields to ``total`` with copies of a custom one."""
    template = account.ticket_fields[-1]
    next_id = max(field["id"] for field in account.ticket_fields) + 1
    while len(account.ticket_fields) < total:
        field = copy.deepcopy(template)
        field["id"] = next_id
        field["title"] = f"Extra field {next_id}"
        field["url"] = f"{account.base_url}/api/v2/ticket_fields/{next_id}.json"
        account.ticket_fields.append(field)
        next_id += 1


def test_several_pages_exact_records(server, account, config):
    add_fields(account, 2 * PAGE_SIZE + 37)
    catalog = catalog_selecting(config, "ticket_fields")

    run = run_in_process(config, catalog=catalog)

    assert run.records("ticket_fields") == account.ticket_fields
    requests = field_requests(server)
    assert len(requests) == 3
    assert requests[0].query == {"page[size]": str(PAGE_SIZE)}
    for request in requests[1:]:
        assert request.query["page[size]"] == str(PAGE_SIZE)
        assert "page[after]" in request.query


def test_single_page_account(server, account, config):
    catalog = catalog_selecting(config, "ticket_fields")

    run = run_in_process(config, catalog=catalog)

    assert len(account.ticket_fields) < PAGE_SIZE
    assert run.records("ticket_fields") == account.ticket_fields
    assert len(field_requests(server)) == 1


def test_exact_page_multiple_stops(server, account, config):
    add_fields(account, 2 * PAGE_SIZE)
    catalog = catalog_selecting(config, "ticket_fields")

    run = run_in_process(config, catalog=catalog)

    assert len(run.records("ticket_fields")) == 2 * PAGE_SIZE
    assert len(field_requests(server)) == 2


def test_records_validate_against_schema(server, account, config):
    catalog = catalog_selecting(config, "ticket_fields")

    run = run_in_process(config, catalog=catalog)

    validator = Draft202012Validator(TICKET_FIELD)
    custom_ids = [field.id for field in account.catalog.custom_fields]
    records = run.records("ticket_fields")
    assert {record["id"] for record in records} >= set(custom_ids)
    for record in records:
        errors = [error.message for error in validator.iter_errors(record)]
        assert errors == [], record["id"]


def test_not_selected_without_catalog(server, config):
    run = run_in_process(config)

    assert run.records("ticket_fields") == []
    assert field_requests(server) == []


def test_ticket_fields_alone_reads_no_export(server, config):
    catalog = catalog_selecting(config, "ticket_fields")

    run = run_in_process(config, catalog=catalog)

    assert run.records("tickets") == []
    paths = {request.path for request in server.requests}
    assert paths == {FIELDS_PATH}


def test_stream_is_full_table(config):
    tap = TapZendeskIncremental(config=config, validate_config=False)

    entry = next(
        entry
        for entry in tap.catalog_dict["streams"]
        if entry["tap_stream_id"] == "ticket_fields"
    )

    assert entry["key_properties"] == ["id"]
    assert entry.get("replication_key") is None
    assert tap.streams["ticket_fields"].replication_method == "FULL_TABLE"


def test_foreign_next_link_rejected(server, account, config):
    add_fields(account, PAGE_SIZE + 1)
    server.next_page_host = f"localhost:{server.url.rsplit(':', 1)[1]}"
    catalog = catalog_selecting(config, "ticket_fields")

    tap = TapZendeskIncremental(config=config, catalog=catalog, validate_config=True)
    with quiet_stdout(), pytest.raises(ExportShapeError, match="localhost"):
        tap.sync_all()

    assert len(field_requests(server)) == 1


def test_server_errors_retried_then_fail(server, config):
    config["max_retries"] = 2
    server.set_status(503)
    catalog = catalog_selecting(config, "ticket_fields")

    tap = TapZendeskIncremental(config=config, catalog=catalog, validate_config=True)
    with quiet_stdout(), pytest.raises(ZendeskAPIError, match="after 3 tries"):
        tap.sync_all()

    assert len(field_requests(server)) == 3


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"meta": {"has_more": False}}, "no `ticket_fields` array"),
        ({"ticket_fields": {"id": 1}}, "no `ticket_fields` array"),
        ({"ticket_fields": [{"title": "no id"}]}, "no integer `id`"),
        ({"ticket_fields": [{"id": True}]}, "no integer `id`"),
    ],
)
def test_malformed_page_raises(config, body, message):
    tap = TapZendeskIncremental(config=config, validate_config=False)
    stream = tap.streams["ticket_fields"]

    with pytest.raises(ExportShapeError, match=message):
        stream.page_fields(body, stream.url_base + FIELDS_PATH)


def test_next_page_follows_has_more(config):
    tap = TapZendeskIncremental(config=config, validate_config=False)
    stream = tap.streams["ticket_fields"]
    url = stream.url_base + FIELDS_PATH
    next_url = url + "?page[size]=100&page[after]=abc"
    more = {"meta": {"has_more": True}, "links": {"next": next_url}}
    last = {"meta": {"has_more": False}, "links": {"next": next_url}}
    no_meta = {"links": {"next": next_url}}

    assert stream.next_page_url(more, url) == next_url
    assert stream.next_page_url(last, url) is None
    assert stream.next_page_url(no_meta, url) is None


def test_has_more_without_link_raises(config):
    tap = TapZendeskIncremental(config=config, validate_config=False)
    stream = tap.streams["ticket_fields"]
    body = {"meta": {"has_more": True}, "links": {"next": None}}

    with pytest.raises(ExportShapeError, match=re.escape("no `links.next`")):
        stream.next_page_url(body, stream.url_base + FIELDS_PATH)


def test_repeated_link_stops(config, monkeypatch):
    tap = TapZendeskIncremental(config=config, validate_config=False)
    stream = tap.streams["ticket_fields"]
    looping = {
        "ticket_fields": [{"id": 1}],
        "meta": {"has_more": True},
        "links": {"next": stream.url_base + FIELDS_PATH + "?page[after]=x"},
    }
    monkeypatch.setattr(stream, "fetch_json", lambda url, params=None: looping)

    with pytest.raises(ExportShapeError, match="repeats an earlier page"):
        list(stream.get_records(None))

"""Export responses that Zendesk documents or allows, from a scripted server."""

from __future__ import annotations

import logging
import time

import pytest

from tap_zendesk_incremental.errors import ExportShapeError
from tests.helpers import API_TOKEN, EMAIL, catalog_selecting, run_cli, run_in_process
from tests.scripted import ScriptedServer, page, ticket

EXPORT = "/api/v2/incremental/tickets.json"
CURSOR = "/api/v2/incremental/tickets/cursor.json"
DAY_AGO = int(time.time()) - 86_400


def make_config(url: str, page_size: int = 3) -> dict:
    return {
        "api_url": url,
        "email": EMAIL,
        "api_token": API_TOKEN,
        "page_size": page_size,
        "max_requests_per_minute": 1000,
        "max_retries": 1,
        "start_date": "2020-01-01",
    }


def test_undeclared_fields_kept_and_logged(caplog):
    caplog.set_level(logging.WARNING)
    tickets = [
        ticket(1, DAY_AGO, brand_new_field={"x": 1}),
        ticket(2, DAY_AGO + 1, brand_new_field={"x": 2}, another_new="v"),
    ]

    def respond(path, query):
        return 200, page(tickets, DAY_AGO + 1, end_of_stream=True)

    with ScriptedServer(respond) as server:
        run = run_in_process(make_config(server.url))

    records = run.records()
    assert records[0]["brand_new_field"] == {"x": 1}
    assert records[1]["another_new"] == "v"
    warnings = [r.getMessage() for r in caplog.records if "untyped" in r.getMessage()]
    assert len(warnings) == 2
    assert "brand_new_field" in warnings[0]
    assert "another_new" in warnings[1]


def test_grown_page_continues_next_second():
    """A page that grew past per_page contains its whole second: no cursor request."""
    crowded = [ticket(10 + i, DAY_AGO + 5) for i in range(5)]
    after = [ticket(30, DAY_AGO + 9)]

    def respond(path, query):
        start = int(query["start_time"])
        if start <= DAY_AGO + 5:
            return 200, page(crowded, DAY_AGO + 5, end_of_stream=False)
        return 200, page(after, DAY_AGO + 9, end_of_stream=True)

    with ScriptedServer(respond) as server:
        run = run_in_process(make_config(server.url, page_size=3))
        paths = server.paths()
        starts = [int(query["start_time"]) for _, query in server.requests]

    assert sorted(run.versions()) == sorted(
        (t["id"], t["generated_timestamp"]) for t in crowded + after
    )
    assert CURSOR not in paths
    assert starts[1:] == [DAY_AGO + 5, DAY_AGO + 6]


def test_cursor_page_without_after_url_uses_cursor():
    crowded = [ticket(10 + i, DAY_AGO + 5) for i in range(6)]

    def respond(path, query):
        if path == CURSOR and "cursor" not in query:
            return 200, {
                "tickets": crowded[:3],
                "after_cursor": "c1",
                "after_url": None,
                "end_of_stream": False,
            }
        if path == CURSOR:
            assert query["cursor"] == "c1"
            return 200, {
                "tickets": crowded[3:],
                "after_cursor": None,
                "end_of_stream": True,
            }
        start = int(query["start_time"])
        if start <= DAY_AGO + 5:
            return 200, page(crowded[:3], DAY_AGO + 5, end_of_stream=False)
        return 200, page([], None, end_of_stream=True)

    with ScriptedServer(respond) as server:
        run = run_in_process(make_config(server.url, page_size=3))

    assert sorted(run.versions()) == sorted((t["id"], DAY_AGO + 5) for t in crowded)
    assert run.bookmarks()[-1] == DAY_AGO + 6


def test_cursor_page_without_next_link_fails():
    crowded = [ticket(10 + i, DAY_AGO + 5) for i in range(3)]

    def respond(path, query):
        if path == CURSOR:
            return 200, {"tickets": crowded, "end_of_stream": False}
        return 200, page(crowded, DAY_AGO + 5, end_of_stream=False)

    with ScriptedServer(respond) as server, pytest.raises(ExportShapeError) as caught:
        run_in_process(make_config(server.url, page_size=3))

    assert "neither `after_url` nor `after_cursor`" in str(caught.value)


def test_missing_end_of_stream_stops_on_short_page():
    tickets = [ticket(i, DAY_AGO + i) for i in range(1, 6)]

    def respond(path, query):
        start = int(query["start_time"])
        chunk = [t for t in tickets if t["generated_timestamp"] >= start][:3]
        end = chunk[-1]["generated_timestamp"] if chunk else start
        return 200, page(chunk, end)

    with ScriptedServer(respond) as server:
        run = run_in_process(make_config(server.url, page_size=3))
        requests_made = len(server.requests)

    assert sorted(run.versions()) == [
        (t["id"], t["generated_timestamp"]) for t in tickets
    ]
    assert requests_made == 3


def test_next_page_that_does_not_advance():
    """A next_page link that repeats the request is replaced by start_time=end_time."""
    tickets = [ticket(i, DAY_AGO + i) for i in range(1, 7)]

    def respond(path, query):
        start = int(query["start_time"])
        chunk = [t for t in tickets if t["generated_timestamp"] >= start][:3]
        end = chunk[-1]["generated_timestamp"]
        done = len(chunk) < 3
        return 200, page(chunk, end, server.url, end_of_stream=done, next_start=start)

    with ScriptedServer(respond) as server:
        run = run_in_process(make_config(server.url, page_size=3))
        starts = [int(query["start_time"]) for _, query in server.requests]

    assert sorted(run.versions()) == [
        (t["id"], t["generated_timestamp"]) for t in tickets
    ]
    assert starts == [1577836800, DAY_AGO + 3, DAY_AGO + 5]


def test_relative_next_page_followed():
    tickets = [ticket(i, DAY_AGO + i) for i in range(1, 5)]

    def respond(path, query):
        start = int(query["start_time"])
        chunk = [t for t in tickets if t["generated_timestamp"] >= start][:3]
        end = chunk[-1]["generated_timestamp"]
        return 200, page(chunk, end, "", end_of_stream=len(chunk) < 3)

    with ScriptedServer(respond) as server:
        run = run_in_process(make_config(server.url, page_size=3))

    assert sorted(run.versions()) == [
        (t["id"], t["generated_timestamp"]) for t in tickets
    ]


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (422, "Too recent start_time. Use a start_time older than 1 minute."),
        (400, {"error": "InvalidValue", "description": "start_time is in the future"}),
        (422, {"errors": [{"title": "Too recent start_time"}]}),
    ],
)
def test_too_recent_variants_are_caught_up(status, body):
    def respond(path, query):
        return status, body

    with ScriptedServer(respond) as server:
        run = run_in_process(make_config(server.url))

    assert run.records() == []


def test_lone_surrogate_escape_passes():
    raw = (
        f'{{"tickets": [{{"id": 1, "generated_timestamp": {DAY_AGO}, '
        f'"subject": "a\\ud800b"}}], "end_time": {DAY_AGO}, '
        '"end_of_stream": true, "next_page": null}'
    )

    def respond(path, query):
        return 200, raw.encode()

    with ScriptedServer(respond) as server:
        run = run_in_process(make_config(server.url))

    assert run.records()[0]["subject"] == "a\ud800b"


def test_config_error_is_one_error_line():
    run = run_cli({**make_config("http://127.0.0.1:9"), "page_size": 0})

    errors = [line for line in run.stderr.splitlines() if "ERROR" in line]
    assert run.exit_code == 1
    assert len(errors) == 1
    assert "`page_size` = 0" in errors[0]


def test_tickets_sync_before_ticket_fields():
    tickets = [ticket(1, DAY_AGO), ticket(2, DAY_AGO + 1)]

    def respond(path, query):
        if path.startswith("/api/v2/ticket_fields"):
            return 404, {"error": "InvalidEndpoint", "description": "Not found"}
        return 200, page(tickets, DAY_AGO + 1, end_of_stream=True)

    with ScriptedServer(respond) as server:
        config = make_config(server.url)
        catalog = catalog_selecting(config, "tickets", "ticket_fields")
        run = run_cli(config, catalog=catalog)
        paths = server.paths()

    assert paths[0] == EXPORT
    assert run.exit_code == 1
    assert [r["id"] for r in run.records()] == [1, 2]
    assert run.bookmarks()[-1] == DAY_AGO + 1


def test_next_page_keeps_request_parameters():
    """A next_page link with only start_time does not drop the tap's parameters."""
    tickets = [ticket(i, DAY_AGO + i) for i in range(1, 6)]

    def respond(path, query):
        start = int(query["start_time"])
        chunk = [t for t in tickets if t["generated_timestamp"] >= start][:3]
        end = chunk[-1]["generated_timestamp"]
        return 200, page(chunk, end, server.url, end_of_stream=len(chunk) < 3)

    with ScriptedServer(respond) as server:
        config = {
            **make_config(server.url),
            "exclude_deleted": True,
            "support_type_scope": "all",
        }
        run_in_process(config)
        queries = [query for _, query in server.requests]

    assert len(queries) == 3
    for query in queries:
        assert query["per_page"] == "3"
        assert query["exclude_deleted"] == "true"
        assert query["support_type_scope"] == "all"


def test_ticket_fields_offset_pagination():
    fields = [{"id": 360000 + i, "title": f"Field {i}"} for i in range(250)]

    def respond(path, query):
        if not path.startswith("/api/v2/ticket_fields"):
            return 200, page([], None, end_of_stream=True)
        number = int(query.get("page", "1"))
        chunk = fields[(number - 1) * 100 : number * 100]
        following = f"/api/v2/ticket_fields.json?page={number + 1}"
        return 200, {
            "ticket_fields": chunk,
            "next_page": following if number < 3 else None,
            "count": len(fields),
        }

    with ScriptedServer(respond) as server:
        config = make_config(server.url)
        run = run_in_process(config, catalog=catalog_selecting(config, "ticket_fields"))

    assert [r["id"] for r in run.records("ticket_fields")] == [f["id"] for f in fields]

"""Tests of the fake Zendesk server, over real HTTP on 127.0.0.1."""

from __future__ import annotations

import http.client
import json
import signal
import subprocess
import sys
import threading
import time
from itertools import pairwise
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

from fake_zendesk import Account, FakeZendesk, Fault, VirtualClock

START = 1_767_225_600.0
EMAIL = "agent@example.com"
API_TOKEN = "test-api-token"
STATIC_TOKEN = "static-token"
CLIENT_ID = "client-id"
CLIENT_SECRET = "client-secret"
TIME_BASED = "/api/v2/incremental/tickets.json"
CURSOR = "/api/v2/incremental/tickets/cursor.json"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=START)


@pytest.fixture
def account(clock):
    return Account.generate(count=300, seed=7, now=clock.time(), span_days=30)


def make_server(account, clock, **options) -> FakeZendesk:
    settings = {
        "clock": clock,
        "email": EMAIL,
        "api_token": API_TOKEN,
        "access_tokens": {STATIC_TOKEN},
        "oauth_clients": {CLIENT_ID: CLIENT_SECRET},
        "refresh_tokens": {"rt-1"},
    }
    settings.update(options)
    return FakeZendesk(account, **settings)


@pytest.fixture
def server(account, clock):
    with make_server(account, clock) as running:
        yield running


@pytest.fixture
def session():
    with requests.Session() as http_session:
        http_session.auth = (f"{EMAIL}/token", API_TOKEN)
        yield http_session


def get_export(session, server, **params):
    return session.get(server.url + TIME_BASED, params=params, timeout=5)


def walk_time_based(session, url, limit=200):
    """Follow next_page until end_of_stream and return every page body."""
    pages = []
    for _ in range(limit):
        response = session.get(url, timeout=5)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        if page["end_of_stream"]:
            return pages
        url = page["next_page"]
    pytest.fail(f"export did not end within {limit} pages")
    return pages


def walk_cursor(session, url, limit=200):
    """Follow after_url until end_of_stream and return every page body."""
    pages = []
    for _ in range(limit):
        response = session.get(url, timeout=5)
        assert response.status_code == 200, response.text
        page = response.json()
        pages.append(page)
        if page["end_of_stream"]:
            return pages
        url = page["after_url"]
    pytest.fail(f"cursor export did not end within {limit} pages")
    return pages


def iso(epoch_seconds):
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch_seconds))


def positions(tickets):
    return [(ticket["generated_timestamp"], ticket["id"]) for ticket in tickets]


def crowd_one_second(account, count, at):
    """Bulk-update `count` active tickets in second `at` and return their ids."""
    ids = account.active_ids()[:count]
    account.bulk_update(ids, at=at)
    return ids


# Account generation


def test_generate_same_arguments_same_tickets(clock):
    first = Account.generate(count=200, seed=3, now=clock.time(), span_days=10)
    second = Account.generate(count=200, seed=3, now=clock.time(), span_days=10)
    other = Account.generate(count=200, seed=4, now=clock.time(), span_days=10)

    assert first.versions() == second.versions()
    assert dict(first.tickets) == dict(second.tickets)
    assert first.users == second.users
    assert first.ticket_fields == second.ticket_fields
    assert dict(first.tickets) != dict(other.tickets)


def test_generate_ids_and_timestamps(account, clock):
    versions = account.versions()
    ids = [ticket_id for ticket_id, _ in versions]
    stamps = [stamp for _, stamp in versions]

    assert len(versions) == 300
    assert ids == list(range(35_000_000_001, 35_000_000_301))
    assert min(stamps) >= clock.time() - 30 * 86_400
    assert max(stamps) <= clock.time() - 120
    assert len(set(stamps)) < len(stamps), "some tickets should share a second"


def test_generate_ticket_shapes(account):
    tickets = list(account.tickets.values())
    channels = {type(ticket["via"]["channel"]) for ticket in tickets}
    deleted = [ticket for ticket in tickets if ticket["status"] == "deleted"]
    values = [item["value"] for t in tickets for item in t["custom_fields"]]
    big_ids = [
        ticket[key]
        for ticket in tickets
        for key in ("id", "requester_id", "brand_id", "ticket_form_id")
    ]

    assert all(ticket["custom_fields"] == ticket["fields"] for ticket in tickets)
    assert all(value > 2**31 for value in big_ids)
    assert channels == {str, int}
    assert deleted
    for ticket in deleted:
        assert ticket["satisfaction_rating"] is None
        assert all(item["value"] is None for item in ticket["custom_fields"])
    assert any(isinstance(value, list) for value in values)
    assert any(isinstance(value, bool) for value in values)
    assert any(isinstance(value, str) and value.isdigit() for value in values)
    assert any(isinstance(t["satisfaction_rating"], dict) for t in tickets)
    assert any(ticket["due_at"] for ticket in tickets)
    assert all(ticket["created_at"].endswith("Z") for ticket in tickets)


def test_generate_average_ticket_size(account):
    sizes = [len(entry_json(account, ticket_id)) for ticket_id in account.ids()]

    average = sum(sizes) / len(sizes)
    assert 2000 < average < 2900


def entry_json(account, ticket_id):
    return json.dumps(account.tickets[ticket_id], ensure_ascii=False).encode()


def test_account_changes(account, clock):
    at = int(clock.time()) - 100
    active = account.active_ids()
    before = account.tickets[active[0]]
    system_before = account.tickets[active[1]]

    account.update([active[0]], at=at)
    account.system_update([active[1]], at=at + 1)
    account.delete([active[2]], at=at + 2)
    created = account.create(2, at=at + 3)

    updated = account.tickets[active[0]]
    system = account.tickets[active[1]]
    deleted = account.tickets[active[2]]
    assert updated["generated_timestamp"] == at
    assert updated["updated_at"] != before["updated_at"]
    assert system["generated_timestamp"] == at + 1
    assert system["updated_at"] == system_before["updated_at"]
    assert deleted["status"] == "deleted"
    assert created == [35_000_000_301, 35_000_000_302]
    assert account.tickets[created[0]]["status"] == "new"
    with pytest.raises(KeyError):
        account.update([1], at=at)


def test_update_of_deleted_ticket_stays_deleted(account, clock):
    at = int(clock.time()) - 100
    ticket_id = account.active_ids()[0]
    account.delete([ticket_id], at=at)
    deleted = account.tickets[ticket_id]

    account.update([ticket_id], at=at + 5)

    updated = account.tickets[ticket_id]
    assert updated["status"] == "deleted"
    assert updated["generated_timestamp"] == at + 5
    assert updated["custom_fields"] == deleted["custom_fields"]


def test_put_stores_ticket_as_given(session, server, account, clock):
    at = int(clock.time()) - 70
    ticket = {"id": 2**40, "generated_timestamp": at, "brand_new_field": [1, "x"]}

    account.put(ticket)
    page = get_export(session, server, start_time=at).json()

    assert account.tickets[2**40] == ticket
    assert ticket in page["tickets"]


# Time-based export


def test_time_based_walk_covers_every_version(session, server, account):
    url = f"{server.url}{TIME_BASED}?start_time=0&per_page=50&support_type_scope=all"

    pages = walk_time_based(session, url)

    seen = {pos for page in pages for pos in positions(page["tickets"])}
    expected = {(stamp, ticket_id) for ticket_id, stamp in account.versions()}
    assert seen == expected
    for page in pages:
        assert page["count"] == len(page["tickets"])
        assert positions(page["tickets"]) == sorted(positions(page["tickets"]))
        assert page["next_page"].startswith(server.url + TIME_BASED)
    assert pages[-1]["end_of_stream"] is True
    assert all(page["end_of_stream"] is False for page in pages[:-1])
    assert pages[-1]["end_time"] == max(stamp for _, stamp in account.versions())


def test_time_based_boundary_duplicates(session, server):
    url = f"{server.url}{TIME_BASED}?start_time=0&per_page=40"

    pages = walk_time_based(session, url)

    for page, following in pairwise(pages):
        end_time = page["end_time"]
        at_end = [
            t["id"] for t in page["tickets"] if t["generated_timestamp"] == end_time
        ]
        repeated = following["tickets"][: len(at_end)]
        assert end_time == page["tickets"][-1]["generated_timestamp"]
        assert [ticket["id"] for ticket in repeated] == at_end
        assert parse_qs(urlsplit(page["next_page"]).query)["start_time"] == [
            str(end_time)
        ]


def test_time_based_empty_page(session, server, clock):
    start_time = int(clock.time()) - 61

    response = get_export(session, server, start_time=start_time)

    page = response.json()
    assert response.status_code == 200
    assert page["tickets"] == []
    assert page["count"] == 0
    assert page["end_time"] == start_time
    assert page["end_of_stream"] is True
    assert page["next_page"] == f"{server.url}{TIME_BASED}?start_time={start_time}"


def test_next_page_keeps_query_and_host(session, server):
    params = {"include": "users,groups", "start_time": 0, "per_page": 5}

    first = get_export(session, server, **params).json()
    server.next_page_host = "evil.example.com"
    second = get_export(session, server, **params).json()

    end_time = first["end_time"]
    assert first["next_page"] == (
        f"{server.url}{TIME_BASED}?include=users,groups"
        f"&start_time={end_time}&per_page=5"
    )
    assert second["next_page"].startswith("http://evil.example.com/api/v2/")


def test_path_without_json_suffix(session, server):
    response = session.get(
        server.url + "/api/v2/incremental/tickets", params={"start_time": 0}
    )

    assert response.status_code == 200
    assert response.json()["count"] > 0


@pytest.mark.parametrize(
    ("per_page", "status"),
    [("0", 400), ("-3", 400), ("ten", 400), ("1", 200), ("7", 200)],
)
def test_per_page_validation(session, server, per_page, status):
    response = get_export(session, server, start_time=0, per_page=per_page)

    assert response.status_code == status
    if status == 200:
        assert response.json()["count"] == int(per_page)


def test_per_page_above_maximum_is_lowered(session, account, clock):
    with make_server(account, clock, max_per_page=25) as server:
        default = get_export(session, server, start_time=0).json()
        large = get_export(session, server, start_time=0, per_page=5000).json()

    assert default["count"] == 25
    assert large["count"] == 25


def test_default_page_size_is_1000(session, clock):
    account = Account.generate(count=1200, seed=1, now=clock.time(), span_days=30)
    with make_server(account, clock) as server:
        page = get_export(session, server, start_time=0).json()

    assert page["count"] == 1000
    assert page["end_of_stream"] is False


@pytest.mark.parametrize("params", [{}, {"start_time": "yesterday"}])
def test_start_time_required(session, server, params):
    response = session.get(server.url + TIME_BASED, params=params)

    assert response.status_code == 400
    assert response.json() == {
        "error": "InvalidValue",
        "description": "start_time is required",
    }


@pytest.mark.parametrize("age", [59, 0, -3600])
def test_start_time_too_recent(session, server, clock, age):
    response = get_export(session, server, start_time=int(clock.time()) - age)

    assert response.status_code == 422
    assert response.json()["description"].startswith("Too recent start_time.")


def test_last_minute_not_exported(session, server, account, clock):
    now = int(clock.time())
    created = account.create(1, at=now - 30)
    start_time = now - 90

    hidden = get_export(session, server, start_time=start_time).json()
    clock.advance(31)
    visible = get_export(session, server, start_time=start_time).json()

    assert created[0] not in [ticket["id"] for ticket in hidden["tickets"]]
    assert created[0] in [ticket["id"] for ticket in visible["tickets"]]


def test_system_update_keeps_updated_at(session, server, account, clock):
    ticket_id = account.active_ids()[0]
    updated_at = account.tickets[ticket_id]["updated_at"]
    at = int(clock.time()) - 70
    account.system_update([ticket_id], at=at)

    page = get_export(session, server, start_time=at).json()

    ticket = next(t for t in page["tickets"] if t["id"] == ticket_id)
    assert ticket["generated_timestamp"] == at
    assert ticket["updated_at"] == updated_at
    assert updated_at < iso(at)


# Tickets sharing one second


def test_grow_page_takes_whole_second(session, server, account, clock):
    crowded_at = int(clock.time()) - 100
    crowded = crowd_one_second(account, 30, crowded_at)
    start_time = crowded_at - 1

    page = get_export(session, server, start_time=start_time, per_page=10).json()

    assert page["count"] == 30
    assert page["end_time"] == crowded_at
    assert sorted(ticket["id"] for ticket in page["tickets"]) == crowded


def test_grow_page_at_crowded_second_advances(session, server, account, clock):
    crowded_at = int(clock.time()) - 100
    crowded = crowd_one_second(account, 30, crowded_at)
    later = account.active_ids()[-1]
    account.update([later], at=crowded_at + 5)

    page = get_export(session, server, start_time=crowded_at, per_page=10).json()

    ids = [ticket["id"] for ticket in page["tickets"]]
    assert ids[:30] == crowded
    assert later in ids
    assert page["end_time"] == crowded_at + 5


def test_grow_ends_at_last_crowded_second(session, server, account, clock):
    crowded_at = int(clock.time()) - 100
    crowd_one_second(account, 30, crowded_at)

    url = f"{server.url}{TIME_BASED}?start_time={crowded_at}&per_page=10"
    pages = walk_time_based(session, url, limit=3)

    assert len(pages) == 1
    assert pages[0]["count"] == 30
    assert pages[0]["end_of_stream"] is True


def test_stall_page_repeats_forever(session, account, clock):
    crowded_at = int(clock.time()) - 100
    crowded = crowd_one_second(account, 30, crowded_at)
    with make_server(account, clock, same_second="stall") as server:
        url = f"{server.url}{TIME_BASED}?start_time={crowded_at}&per_page=10"
        first = session.get(url).json()
        second = session.get(first["next_page"]).json()

    assert first["count"] == 10
    assert first["end_time"] == crowded_at
    assert first["end_of_stream"] is False
    assert first["next_page"] == url
    assert [t["id"] for t in first["tickets"]] == crowded[:10]
    assert second["tickets"] == first["tickets"]


def test_stall_cursor_export_gets_through(session, account, clock):
    crowded_at = int(clock.time()) - 100
    crowd_one_second(account, 30, crowded_at)
    with make_server(account, clock, same_second="stall") as server:
        url = f"{server.url}{CURSOR}?start_time=0&per_page=10&support_type_scope=all"
        pages = walk_cursor(session, url)

    ids = [ticket["id"] for page in pages for ticket in page["tickets"]]
    assert len(ids) == len(set(ids))
    assert sorted(ids) == account.ids()


# Cursor-based export


def test_cursor_walk_without_duplicates(session, server, account):
    url = f"{server.url}{CURSOR}?start_time=0&per_page=45&support_type_scope=all"

    pages = walk_cursor(session, url)

    seen = [pos for page in pages for pos in positions(page["tickets"])]
    expected = sorted((stamp, ticket_id) for ticket_id, stamp in account.versions())
    assert seen == expected
    assert pages[-1]["end_of_stream"] is True
    for page in pages:
        assert page["before_cursor"] is None
        assert page["after_url"].endswith(f"cursor={page['after_cursor']}")
        assert "per_page=45" in page["after_url"]
        assert "start_time" not in page["after_url"]


def test_cursor_resumes_after_changes(session, server, account, clock):
    pages = walk_cursor(session, f"{server.url}{CURSOR}?start_time=0")
    changed = account.active_ids()[:3]
    account.update(changed, at=int(clock.time()) - 61)

    resumed = session.get(pages[-1]["after_url"]).json()

    assert sorted(ticket["id"] for ticket in resumed["tickets"]) == changed
    assert resumed["end_of_stream"] is True


def test_cursor_invalid_value(session, server):
    response = session.get(server.url + CURSOR, params={"cursor": "not a cursor"})

    assert response.status_code == 400
    assert response.json()["error"] == "InvalidValue"


def test_cursor_start_time_too_recent(session, server, clock):
    response = session.get(
        server.url + CURSOR, params={"start_time": int(clock.time())}
    )

    assert response.status_code == 422


# Filters and sideloads


def test_exclude_deleted(session, server, account):
    deleted = {t["id"] for t in account.tickets.values() if t["status"] == "deleted"}

    page = get_export(session, server, start_time=0, exclude_deleted="true").json()
    full = get_export(session, server, start_time=0).json()

    ids = {ticket["id"] for ticket in page["tickets"]}
    assert deleted
    assert not ids & deleted
    assert deleted <= {ticket["id"] for ticket in full["tickets"]}


def test_support_type_scope(session, server, account):
    ai_ids = {
        ticket["id"]
        for ticket in account.tickets.values()
        if ticket["via"]["channel"] == "ai_agent"
    }

    def exported(scope):
        params = (
            {"start_time": 0}
            if scope is None
            else {"start_time": 0, "support_type_scope": scope}
        )
        page = get_export(session, server, **params).json()
        return {ticket["id"] for ticket in page["tickets"]}

    assert ai_ids
    assert not exported(None) & ai_ids
    assert not exported("agent") & ai_ids
    assert exported("ai_agent") == ai_ids
    assert exported("all") == set(account.ids())
    assert (
        get_export(session, server, start_time=0, support_type_scope="x").status_code
        == 400
    )


def test_sideloads(session, server, account):
    include = "users,groups,organizations,brands,metric_sets,slas,dates"

    page = get_export(
        session, server, start_time=0, per_page=30, include=include
    ).json()

    tickets = page["tickets"]
    user_ids = {
        ticket[key]
        for ticket in tickets
        for key in ("requester_id", "submitter_id", "assignee_id")
        if ticket[key] is not None
    }
    assert {user["id"] for user in page["users"]} == user_ids
    assert {g["id"] for g in page["groups"]} == {t["group_id"] for t in tickets} - {
        None
    }
    assert {o["id"] for o in page["organizations"]} == {
        t["organization_id"] for t in tickets
    } - {None}
    assert {b["id"] for b in page["brands"]} == {t["brand_id"] for t in tickets}
    assert [m["ticket_id"] for m in page["metric_sets"]] == [t["id"] for t in tickets]
    user = page["users"][0]
    assert {"email", "role", "time_zone", "iana_time_zone", "user_fields"} <= set(user)
    metric_set = page["metric_sets"][0]
    assert set(metric_set["reply_time_in_minutes"]) == {"calendar", "business"}
    assert "slas" not in page


def test_metric_set_follows_ticket_update(session, server, account, clock):
    ticket_id = account.active_ids()[0]
    at = int(clock.time()) - 61
    account.update([ticket_id], at=at)

    page = get_export(session, server, start_time=at, include="metric_sets").json()

    metric_set = next(m for m in page["metric_sets"] if m["ticket_id"] == ticket_id)
    assert metric_set["updated_at"] == iso(at)


# Authentication and errors


def test_missing_credentials_401(server):
    response = requests.get(server.url + TIME_BASED, params={"start_time": 0})

    assert response.status_code == 401
    assert response.json() == {"error": "Couldn't authenticate you"}


def test_wrong_api_token_401(server):
    response = requests.get(
        server.url + TIME_BASED,
        params={"start_time": 0},
        auth=(f"{EMAIL}/token", "wrong"),
    )

    assert response.status_code == 401
    assert response.json() == {"error": "Couldn't authenticate you"}


def test_static_bearer_token(server):
    headers = {"Authorization": f"Bearer {STATIC_TOKEN}"}

    response = requests.get(
        server.url + TIME_BASED, params={"start_time": 0}, headers=headers
    )

    assert response.status_code == 200


def test_unknown_bearer_token_401(server):
    headers = {"Authorization": "Bearer nope"}

    response = requests.get(
        server.url + TIME_BASED, params={"start_time": 0}, headers=headers
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_token"
    assert "expired, revoked" in response.json()["error_description"]


def test_non_admin_403(session, account, clock):
    with make_server(account, clock, admin=False) as server:
        response = get_export(session, server, start_time=0)

    assert response.status_code == 403
    assert response.json()["error"]["title"] == "Forbidden"


def test_unknown_path_404(session, server):
    response = session.get(server.url + "/api/v2/nothing_here.json")

    assert response.status_code == 404
    assert response.json() == {"error": "InvalidEndpoint", "description": "Not found"}


@pytest.mark.parametrize("status", [401, 403, 404, 500])
def test_set_status(session, server, status):
    server.set_status(status)
    forced = get_export(session, server, start_time=0)
    server.set_status(None)
    normal = get_export(session, server, start_time=0)

    assert forced.status_code == status
    assert "error" in forced.json()
    assert normal.status_code == 200


# OAuth


def post_token(server, **kwargs):
    return requests.post(server.url + "/oauth/tokens", timeout=5, **kwargs)


def bearer_get(server, token):
    headers = {"Authorization": f"Bearer {token}"}
    return requests.get(
        server.url + TIME_BASED, params={"start_time": 0}, headers=headers
    )


def test_client_credentials_grant(server):
    form = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
        "scope": "read",
    }

    response = post_token(server, data=form)

    token = response.json()
    assert response.status_code == 200
    assert token["token_type"] == "bearer"
    assert token["scope"] == "read"
    assert token["expires_in"] == 1800
    assert bearer_get(server, token["access_token"]).status_code == 200


def test_client_credentials_other_encodings(server):
    as_json = post_token(
        server,
        json={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": CLIENT_SECRET,
        },
    )
    as_basic = post_token(
        server,
        data={"grant_type": "client_credentials"},
        auth=(CLIENT_ID, CLIENT_SECRET),
    )

    assert as_json.status_code == 200
    assert as_basic.status_code == 200


def test_bad_client_401(server):
    response = post_token(
        server,
        data={
            "grant_type": "client_credentials",
            "client_id": CLIENT_ID,
            "client_secret": "wrong",
        },
    )

    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


def test_unsupported_grant_type_400(server):
    response = post_token(server, data={"grant_type": "password"})

    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


def test_access_token_expires(server, clock):
    form = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    token = post_token(server, data=form).json()["access_token"]

    clock.advance(1799)
    still_valid = bearer_get(server, token)
    clock.advance(2)
    expired = bearer_get(server, token)

    assert still_valid.status_code == 200
    assert expired.status_code == 401
    assert expired.json()["error"] == "invalid_token"


def test_refresh_token_rotation(server):
    def refresh(refresh_token):
        return post_token(
            server,
            data={
                "grant_type": "refresh_token",
                "refresh_token": refresh_token,
                "client_id": CLIENT_ID,
                "client_secret": CLIENT_SECRET,
            },
        )

    first = refresh("rt-1")
    reused = refresh("rt-1")
    second = refresh(first.json()["refresh_token"])

    body = first.json()
    assert first.status_code == 200
    assert body["refresh_token"] != "rt-1"
    assert body["refresh_token_expires_in"] == 30 * 86_400
    assert bearer_get(server, body["access_token"]).status_code == 200
    assert reused.status_code == 400
    assert reused.json()["error"] == "invalid_grant"
    assert second.status_code == 200


def test_revoke_tokens(server):
    form = {
        "grant_type": "client_credentials",
        "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET,
    }
    issued = post_token(server, data=form).json()["access_token"]

    server.revoke_tokens()

    assert bearer_get(server, issued).status_code == 401
    assert bearer_get(server, STATIC_TOKEN).status_code == 401


# Rate limiting


def test_rate_limiter(session, account, clock):
    with make_server(account, clock, rate_limit_per_minute=3) as server:
        remaining = []
        for _ in range(3):
            response = get_export(session, server, start_time=0, per_page=1)
            remaining.append(response.headers["X-Rate-Limit-Remaining"])
            clock.advance(10)
        limited = get_export(session, server, start_time=0, per_page=1)
        clock.advance(limited_wait := int(limited.headers["Retry-After"]))
        allowed = get_export(session, server, start_time=0, per_page=1)

    assert remaining == ["2", "1", "0"]
    assert limited.status_code == 429
    assert limited.headers["X-Rate-Limit"] == "3"
    assert limited_wait == 30
    assert limited.json() == {
        "error": "APIRateLimitExceeded",
        "description": (
            "Number of allowed incremental export API requests per minute exceeded"
        ),
    }
    assert allowed.status_code == 200


def test_rate_limit_headers_without_limit(session, server):
    response = get_export(session, server, start_time=0, per_page=1)

    assert response.headers["X-Rate-Limit"] == "700"
    assert response.headers["X-Rate-Limit-Remaining"] == "700"


# Faults


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault.status(503, body="html", retry_after="5"), (503, "5", "text/html")),
        (Fault.status(500), (500, None, "application/json")),
        (Fault.status(502, body="text"), (502, None, "text/plain")),
        (Fault.rate_limited(), (429, None, "application/json")),
        (Fault.rate_limited(retry_after="7", body="text"), (429, "7", "text/plain")),
        (
            Fault.rate_limited(retry_after="50, 53", body="html"),
            (429, "50, 53", "text/html"),
        ),
        (Fault.too_recent(), (422, None, "application/json")),
        (Fault.too_recent(status=400), (400, None, "application/json")),
    ],
)
def test_status_faults(session, server, fault, expected):
    status, retry_after, content_type = expected
    server.faults.enqueue(fault)

    faulty = get_export(session, server, start_time=0)
    normal = get_export(session, server, start_time=0)

    assert faulty.status_code == status
    assert faulty.headers.get("Retry-After") == retry_after
    assert faulty.headers["Content-Type"].startswith(content_type)
    assert normal.status_code == 200


def test_rate_limited_fault_json_body(session, server):
    server.faults.enqueue(Fault.rate_limited(retry_after="7"))

    response = get_export(session, server, start_time=0)

    assert response.json()["error"] == "APIRateLimitExceeded"


def test_connection_reset_fault(session, server):
    server.faults.enqueue(Fault.connection_reset())

    with pytest.raises(requests.ConnectionError):
        get_export(session, server, start_time=0)
    assert get_export(session, server, start_time=0).status_code == 200
    assert server.requests[-2].status == 0


def test_truncated_body_fault(session, server):
    server.faults.enqueue(Fault.truncated_body())

    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        get_export(session, server, start_time=0)
    assert get_export(session, server, start_time=0).status_code == 200


def test_slow_fault_causes_read_timeout(session, server):
    server.faults.enqueue(Fault.slow(seconds=0.5))

    with pytest.raises(requests.exceptions.ReadTimeout):
        session.get(server.url + TIME_BASED, params={"start_time": 0}, timeout=0.1)


@pytest.mark.parametrize(
    ("kind", "check"),
    [
        ("no_tickets", lambda page: "tickets" not in page),
        ("ticket_without_id", lambda page: "id" not in page["tickets"][0]),
        (
            "ticket_without_generated_timestamp",
            lambda page: "generated_timestamp" not in page["tickets"][0],
        ),
        ("end_time_not_integer", lambda page: isinstance(page["end_time"], str)),
    ],
)
def test_malformed_faults(session, server, kind, check):
    server.faults.enqueue(Fault.malformed(kind))

    response = get_export(session, server, start_time=0)

    assert response.status_code == 200
    assert check(response.json())


def test_malformed_unknown_kind():
    with pytest.raises(ValueError, match="unknown malformed kind"):
        Fault.malformed("everything")


def test_faults_only_hit_exports(session, server):
    server.faults.enqueue(Fault.status(503))

    fields = session.get(server.url + "/api/v2/ticket_fields.json")
    cursor = session.get(server.url + CURSOR, params={"start_time": 0})

    assert fields.status_code == 200
    assert cursor.status_code == 503


def test_random_faults_repeat_per_seed(session, account, clock):
    def statuses(seed):
        with make_server(account, clock) as server:
            server.faults.random(
                rate=0.5, seed=seed, kinds=[Fault.status(502), Fault.status(504)]
            )
            return [
                get_export(session, server, start_time=0, per_page=1).status_code
                for _ in range(30)
            ]

    first = statuses(1)

    assert first == statuses(1)
    assert first != statuses(2)
    assert {502, 504, 200} == set(first)


def test_random_faults_default_mix_is_retriable(session, server):
    server.faults.random(rate=1.0, seed=3)

    outcomes = set()
    for _ in range(40):
        try:
            response = get_export(session, server, start_time=0, per_page=1)
        except requests.RequestException as error:
            outcomes.add(type(error).__name__)
        else:
            outcomes.add(response.status_code)

    assert outcomes & {429, 500, 502, 503, 504}
    assert 200 not in outcomes
    assert (
        outcomes - {429, 500, 502, 503, 504, "ConnectionError", "ChunkedEncodingError"}
        == set()
    )


# Mutation during an export


def test_on_request_changes_mid_export(session, server, account, clock):
    changed = account.active_ids()[:5]
    at = int(clock.time()) - 65

    def update_on_second(fake, number):
        if number == 2:
            fake.account.update(changed, at=at)

    server.on_request(update_on_second)
    pages = walk_time_based(
        session,
        f"{server.url}{TIME_BASED}?start_time=0&per_page=60&support_type_scope=all",
    )

    last_versions = {}
    for page in pages:
        for ticket in page["tickets"]:
            last_versions[ticket["id"]] = ticket["generated_timestamp"]
    assert all(last_versions[ticket_id] == at for ticket_id in changed)
    assert dict(account.versions()) == last_versions


def test_concurrent_requests_and_changes(session, server, account, clock):
    errors = []
    at = int(clock.time()) - 200

    def read():
        with requests.Session() as reader:
            reader.auth = session.auth
            for _ in range(10):
                response = get_export(reader, server, start_time=0, per_page=100)
                if response.status_code != 200:
                    errors.append(response.status_code)

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for offset in range(20):
        account.update(account.active_ids()[offset::40], at=at + offset)
    for thread in threads:
        thread.join()

    assert errors == []


# Ticket fields


def test_ticket_fields_pagination(session, server, account):
    url = f"{server.url}/api/v2/ticket_fields.json?page[size]=15"
    pages = []
    while url:
        body = session.get(url).json()
        pages.append(body)
        url = body["links"]["next"]

    ids = [field["id"] for page in pages for field in page["ticket_fields"]]
    assert ids == [field["id"] for field in account.ticket_fields]
    assert len(ids) >= 40
    assert [page["meta"]["has_more"] for page in pages] == [True, True, False]
    assert pages[0]["links"]["prev"] is None
    assert pages[1]["links"]["prev"] is not None
    types = {field["type"] for field in account.ticket_fields}
    assert {"text", "tagger", "multiselect", "checkbox", "date", "integer"} <= types


def test_ticket_fields_default_and_invalid_size(session, server):
    default = session.get(server.url + "/api/v2/ticket_fields").json()
    invalid = session.get(
        server.url + "/api/v2/ticket_fields", params={"page[size]": 101}
    )

    assert len(default["ticket_fields"]) == 40
    assert default["meta"]["has_more"] is False
    assert invalid.status_code == 400


def test_ticket_fields_match_ticket_custom_fields(account):
    custom_ids = {
        item["id"] for item in account.tickets[account.ids()[0]]["custom_fields"]
    }
    active = {f["id"] for f in account.ticket_fields if f["active"] and f["removable"]}

    assert custom_ids == active


# Admin endpoints and request log


def test_admin_endpoints(server, account, clock):
    created = requests.post(server.url + "/_fake/create?count=2").json()
    updated = requests.post(server.url + "/_fake/update?count=3").json()
    deleted = requests.post(server.url + "/_fake/delete?count=1").json()
    listing = requests.get(server.url + "/_fake/tickets").json()

    stamp = int(clock.time()) - 60
    assert len(created["ticket_ids"]) == 2
    assert len(updated["ticket_ids"]) == 3
    assert updated["generated_timestamp"] == stamp
    assert account.tickets[deleted["ticket_ids"][0]]["status"] == "deleted"
    assert listing["count"] == 302
    assert listing["tickets"] == [account.tickets[i] for i in account.ids()]


def test_admin_invalid_count(server):
    response = requests.post(server.url + "/_fake/update?count=many")

    assert response.status_code == 400


def test_requests_recorded_without_secrets(session, server):
    get_export(session, server, start_time=0, per_page=2)
    bearer_get(server, STATIC_TOKEN)
    requests.get(server.url + TIME_BASED)

    recorded = server.requests[-3:]
    assert [request.auth for request in recorded] == ["basic", "bearer", "none"]
    assert [request.status for request in recorded] == [200, 200, 401]
    assert recorded[0].query == {"start_time": "0", "per_page": "2"}
    assert recorded[0].path == TIME_BASED
    assert API_TOKEN not in repr(server.requests)
    assert STATIC_TOKEN not in repr(server.requests)


def test_keep_alive_reuses_connection(server):
    port = int(server.url.rsplit(":", 1)[1])
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    sockets = []
    statuses = []
    for _ in range(2):
        connection.request("GET", "/api/v2/ticket_fields.json")
        response = connection.getresponse()
        response.read()
        statuses.append(response.status)
        sockets.append(connection.sock)
    connection.close()

    assert statuses == [401, 401]
    assert sockets[0] is sockets[1]


# Command line


def test_cli_starts_and_stops():
    command = [
        sys.executable,
        "-m",
        "fake_zendesk",
        "--port",
        "0",
        "--tickets",
        "50",
        "--api-token",
        "demo-token",
    ]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()
        url = line.strip().rsplit(" ", 1)[1]
        response = requests.get(
            url + TIME_BASED,
            params={"start_time": 0},
            auth=(f"{EMAIL}/token", "demo-token"),
            timeout=5,
        )
        process.send_signal(signal.SIGTERM)
        code = process.wait(timeout=10)
    finally:
        process.kill()
        process.stdout.close()

    assert line.startswith("fake Zendesk listening on http://127.0.0.1:")
    assert response.status_code == 200
    assert response.json()["count"] == 50
    assert code == 0

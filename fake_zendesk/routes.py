"""Request handlers for every endpoint of the fake server."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote, urlencode

from fake_zendesk.errors import (
    FORBIDDEN_BODY,
    NOT_FOUND_BODY,
    ApiError,
    envelope_for_status,
    invalid_value,
)
from fake_zendesk.export import (
    cursor_page,
    decode_cursor,
    encode_cursor,
    page_body,
    parse_query,
    parse_start_time,
    sideloads,
    time_based_page,
)
from fake_zendesk.responses import Response, apply_fault, json_response

if TYPE_CHECKING:
    from email.message import Message

    from fake_zendesk.ratelimit import RateDecision
    from fake_zendesk.server import FakeZendesk

TIME_BASED_PATHS = frozenset(
    {"/api/v2/incremental/tickets", "/api/v2/incremental/tickets.json"}
)
CURSOR_PATHS = frozenset(
    {"/api/v2/incremental/tickets/cursor", "/api/v2/incremental/tickets/cursor.json"}
)
TICKET_FIELD_PATHS = frozenset({"/api/v2/ticket_fields", "/api/v2/ticket_fields.json"})
MAX_FIELDS_PAGE_SIZE = 100
# Admin changes are stamped one minute back so that they are exportable at once.
ADMIN_CHANGE_AGE_SECONDS = 60


@dataclass(frozen=True)
class IncomingRequest:
    """The parts of an HTTP request that the handlers read."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: Message
    body: bytes
    host: str

    @property
    def params(self) -> dict[str, str]:
        """Query parameters; a repeated name keeps its last value."""
        return dict(self.query)


def route(app: FakeZendesk, request: IncomingRequest) -> Response:
    """Return the response to `request`.

    Raises:
        ApiError: For every error response that is not an injected fault.
    """
    if request.path.startswith("/_fake/"):
        return _admin(app, request)
    if request.path == "/oauth/tokens" and request.method == "POST":
        return json_response(
            200, app.auth.grant(_form(request), _authorization(request))
        )
    if request.path.startswith("/api/v2/"):
        return _api(app, request)
    raise ApiError(404, NOT_FOUND_BODY)


def _authorization(request: IncomingRequest) -> str | None:
    return request.headers.get("Authorization")


def _api(app: FakeZendesk, request: IncomingRequest) -> Response:
    forced = app.forced_status
    if forced is not None:
        raise ApiError(
            forced, envelope_for_status(forced), _rate_headers(app.limiter.peek())
        )
    try:
        app.auth.check(_authorization(request))
    except ApiError as error:
        error.headers.update(_rate_headers(app.limiter.peek()))
        raise
    if request.method == "GET" and request.path in TIME_BASED_PATHS | CURSOR_PATHS:
        return _export(app, request)
    if request.method == "GET" and request.path in TICKET_FIELD_PATHS:
        response = _ticket_fields(app, request)
        response.headers.update(_rate_headers(app.limiter.peek()))
        return response
    raise ApiError(404, NOT_FOUND_BODY)


def _rate_headers(decision: RateDecision) -> dict[str, str]:
    return {
        "X-Rate-Limit": str(decision.limit),
        "X-Rate-Limit-Remaining": str(decision.remaining),
    }


def _export(app: FakeZendesk, request: IncomingRequest) -> Response:
    if not app.admin:
        raise ApiError(403, FORBIDDEN_BODY)
    app.run_request_callbacks()
    decision = app.limiter.acquire()
    headers = _rate_headers(decision)
    if not decision.allowed:
        headers["Retry-After"] = str(decision.retry_after)
        raise ApiError(429, envelope_for_status(429), headers)
    fault = app.faults.take()
    if fault is not None:
        response = apply_fault(fault, lambda: _export_page(app, request))
    else:
        response = _export_page(app, request)
    response.headers.update(headers)
    return response


def _export_page(app: FakeZendesk, request: IncomingRequest) -> Response:
    try:
        if request.path in CURSOR_PATHS:
            return _cursor_export(app, request)
        return _time_based_export(app, request)
    except ApiError as error:
        return json_response(error.status, error.body, error.headers)


def _time_based_export(app: FakeZendesk, request: IncomingRequest) -> Response:
    params = request.params
    now = app.clock.time()
    query = parse_query(params, app.max_per_page)
    start_time = parse_start_time(params, now)
    with app.account.lock:
        page = time_based_page(app.account, start_time, query, now, app.same_second)
    fields = {
        "next_page": _page_url(app, request, page.end_time),
        "count": len(page.entries),
        "end_of_stream": page.end_of_stream,
        "end_time": page.end_time,
        **sideloads(app.account, page.entries, query.includes),
    }
    return Response(200, page_body(page.entries, fields))


def _cursor_export(app: FakeZendesk, request: IncomingRequest) -> Response:
    params = request.params
    now = app.clock.time()
    query = parse_query(params, app.max_per_page)
    if "cursor" in params:
        after = decode_cursor(params["cursor"])
    else:
        after = (parse_start_time(params, now), 0)
    with app.account.lock:
        page = cursor_page(app.account, after, query, now)
    after_cursor = encode_cursor(page.after)
    carried_over = [
        (key, value)
        for key, value in request.query
        if key not in {"start_time", "cursor"}
    ]
    fields = {
        "after_url": _url(app, request, [*carried_over, ("cursor", after_cursor)]),
        "after_cursor": after_cursor,
        "before_url": None,
        "before_cursor": None,
        "end_of_stream": page.end_of_stream,
        **sideloads(app.account, page.entries, query.includes),
    }
    return Response(200, page_body(page.entries, fields))


def _page_url(app: FakeZendesk, request: IncomingRequest, start_time: int) -> str:
    """Return the request's URL with `start_time` replaced, keeping the order."""
    query = [
        (key, str(start_time) if key == "start_time" else value)
        for key, value in request.query
    ]
    return _url(app, request, query)


def _url(
    app: FakeZendesk, request: IncomingRequest, query: list[tuple[str, str]]
) -> str:
    host = app.next_page_host or request.host
    encoded = urlencode(query, safe=",", quote_via=quote)
    return f"http://{host}{request.path}?{encoded}"


def _ticket_fields(app: FakeZendesk, request: IncomingRequest) -> Response:
    params = request.params
    size_text = params.get("page[size]", str(MAX_FIELDS_PAGE_SIZE))
    if not size_text.isdigit() or not 1 <= int(size_text) <= MAX_FIELDS_PAGE_SIZE:
        message = f"page[size] must be an integer from 1 to {MAX_FIELDS_PAGE_SIZE}"
        raise invalid_value(message)
    size = int(size_text)
    fields = app.account.ticket_fields
    ids = [definition["id"] for definition in fields]
    start = 0
    if "page[after]" in params:
        start = _field_index(ids, params["page[after]"]) + 1
    elif "page[before]" in params:
        start = max(0, _field_index(ids, params["page[before]"]) - size)
    items = fields[start : start + size]
    has_more = start + size < len(fields)
    after_cursor = _field_cursor(items[-1]["id"]) if items else None
    before_cursor = _field_cursor(items[0]["id"]) if items else None
    links: dict[str, str | None] = {"next": None, "prev": None}
    if has_more and after_cursor:
        links["next"] = _fields_url(app, request, size, ("page[after]", after_cursor))
    if start > 0 and before_cursor:
        links["prev"] = _fields_url(app, request, size, ("page[before]", before_cursor))
    meta = {
        "has_more": has_more,
        "after_cursor": after_cursor,
        "before_cursor": before_cursor,
    }
    return json_response(200, {"ticket_fields": items, "meta": meta, "links": links})


def _fields_url(
    app: FakeZendesk, request: IncomingRequest, size: int, cursor: tuple[str, str]
) -> str:
    return _url(app, request, [("page[size]", str(size)), cursor])


def _field_cursor(field_id: int) -> str:
    return encode_cursor((0, field_id))


def _field_index(ids: list[int], cursor: str) -> int:
    _, field_id = decode_cursor(cursor)
    if field_id not in ids:
        message = f"cursor {cursor!r} does not point at a ticket field"
        raise invalid_value(message)
    return ids.index(field_id)


def _form(request: IncomingRequest) -> dict[str, str]:
    """Return the fields of a JSON or form-encoded request body."""
    content_type = (request.headers.get("Content-Type") or "").lower()
    text = request.body.decode("utf-8", errors="replace")
    if "json" in content_type:
        try:
            data = json.loads(text or "{}")
        except json.JSONDecodeError:
            raise invalid_value("the request body is not valid JSON") from None
        if not isinstance(data, dict):
            raise invalid_value("the request body must be a JSON object")
        return {
            str(key): str(value) for key, value in data.items() if value is not None
        }
    return dict(parse_qsl(text, keep_blank_values=True))


def _admin(app: FakeZendesk, request: IncomingRequest) -> Response:
    action = request.path.removeprefix("/_fake/")
    if request.method == "GET" and action == "tickets":
        return Response(200, app.account.export_all())
    if request.method != "POST" or action not in {"update", "create", "delete"}:
        raise ApiError(404, NOT_FOUND_BODY)
    count_text = request.params.get("count", "1")
    if not count_text.isdigit():
        message = f"count must be a non-negative integer, got {count_text!r}"
        raise invalid_value(message)
    count = int(count_text)
    stamp = int(app.clock.time()) - ADMIN_CHANGE_AGE_SECONDS
    account = app.account
    with account.lock:
        if action == "create":
            ids = account.create(count, stamp)
        else:
            ids = account.pick_active(count, action)
            change = account.update if action == "update" else account.delete
            change(ids, stamp)
    return json_response(200, {"ticket_ids": ids, "generated_timestamp": stamp})

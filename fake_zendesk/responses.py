"""HTTP responses of the fake server and how injected faults change them."""

from __future__ import annotations

from dataclasses import dataclass, field
from http import HTTPStatus
from typing import TYPE_CHECKING, Literal

import msgspec

from fake_zendesk.errors import TOO_RECENT_BODY, envelope_for_status

if TYPE_CHECKING:
    from collections.abc import Callable

    from fake_zendesk.faults import BodyFormat, Fault

JSON_TYPE = "application/json; charset=utf-8"
Delivery = Literal["send", "reset", "truncate"]


@dataclass
class Response:
    """A response to send, and how to deliver it.

    Attributes:
        status: HTTP status; 0 when the connection is reset without a response.
        body: Body bytes; `Content-Length` always states their full length.
        content_type: Value of the `Content-Type` header.
        headers: Extra headers, sent verbatim.
        delivery: `send` normally, `reset` to close the connection without a
            response, `truncate` to send half the body and close the connection.
        delay: Real seconds to wait before sending.
    """

    status: int
    body: bytes = b""
    content_type: str = JSON_TYPE
    headers: dict[str, str] = field(default_factory=dict)
    delivery: Delivery = "send"
    delay: float = 0.0


def json_response(
    status: int, body: object, headers: dict[str, str] | None = None
) -> Response:
    """Return a JSON response."""
    return Response(status, msgspec.json.encode(body), headers=dict(headers or {}))


def error_response(
    status: int, body_format: BodyFormat, retry_after: str | None = None
) -> Response:
    """Return an error as a JSON envelope, a plain-text line or an HTML page.

    `retry_after` goes into `Retry-After` verbatim; None sends no such header.
    """
    headers = {} if retry_after is None else {"Retry-After": retry_after}
    phrase = _phrase(status)
    if body_format == "json":
        return json_response(status, envelope_for_status(status), headers)
    if body_format == "text":
        text = f"{status} {phrase}. Please retry later.\n"
        return Response(status, text.encode(), "text/plain; charset=utf-8", headers)
    html = (
        f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
        f"<center><h1>{status} {phrase}</h1></center>\r\n</body>\r\n</html>\r\n"
    )
    return Response(status, html.encode(), "text/html", headers)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def apply_fault(fault: Fault, build: Callable[[], Response]) -> Response:
    """Return the response for a request that `fault` hits.

    Args:
        fault: The injected fault.
        build: Builds the response the request would get without the fault.
    """
    if fault.kind == "status":
        return error_response(fault.status_code, fault.body, fault.retry_after)
    if fault.kind == "too_recent":
        return json_response(fault.status_code, TOO_RECENT_BODY)
    if fault.kind == "reset":
        return Response(0, delivery="reset")
    response = build()
    if fault.kind == "truncated":
        response.delivery = "truncate"
    elif fault.kind == "slow":
        response.delay = fault.seconds
    elif fault.kind == "malformed" and response.status == HTTPStatus.OK:
        response.body = _break_page(response.body, fault.malformed_kind)
    return response


def _break_page(body: bytes, kind: str | None) -> bytes:
    """Remove or corrupt one part of a page.

    Ticket faults change the first ticket and leave an empty page as it is.
    `end_time_not_integer` sends `end_time` as a string and changes nothing on
    cursor pages, which have no `end_time`.
    """
    page = msgspec.json.decode(body)
    tickets = page.get("tickets") or []
    if kind == "no_tickets":
        page.pop("tickets", None)
    elif kind == "ticket_without_id" and tickets:
        del tickets[0]["id"]
    elif kind == "ticket_without_generated_timestamp" and tickets:
        del tickets[0]["generated_timestamp"]
    elif kind == "end_time_not_integer" and "end_time" in page:
        page["end_time"] = str(page["end_time"])
    return msgspec.json.encode(page)

"""Reading Zendesk's HTTP responses: errors, Retry-After and bodies."""

from __future__ import annotations

import email.utils
import json
import re
from urllib.parse import urlsplit

import msgspec
import requests
from singer_sdk.exceptions import RetriableAPIError

_FIRST_NUMBER = re.compile(r"\d+(?:\.\d+)?")
#: Zendesk's error responses to a ``start_time`` within the last minute or in the
#: future: 422 "Too recent start_time. Use a start_time older than ...", and
#: reportedly a 400 saying the time is in the future.
_TOO_RECENT = re.compile(r"too recent|in the future|must be in the past", re.IGNORECASE)


class CaughtUpError(Exception):
    """Zendesk rejected ``start_time`` as too recent, so nothing more is exportable."""


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Read a ``Retry-After`` header as seconds to wait.

    Accepts whole or decimal seconds, an HTTP date, and the malformed lists seen
    from Zendesk such as ``50, 53``, of which the first number counts.
    """
    if not value or not value.strip():
        return None
    match = _FIRST_NUMBER.match(value.strip())
    if match:
        return float(match.group())
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - now, 0.0)


def error_summary(response: requests.Response) -> str:
    """Extract Zendesk's error envelope from a response, without its raw body.

    Zendesk uses ``{"error", "description"}``, a nested ``{"error": {"title",
    "message"}}`` on some 403s, and ``error_description`` for OAuth errors.
    """
    try:
        body = msgspec.json.decode(response.content)
    except msgspec.DecodeError:
        return response.reason or ""
    if not isinstance(body, dict):
        return response.reason or ""
    error = body.get("error")
    errors = body.get("errors")
    if isinstance(error, dict):
        parts = [error.get("title"), error.get("message")]
    elif not error and isinstance(errors, list) and errors:
        first = errors[0] if isinstance(errors[0], dict) else {"title": errors[0]}
        parts = [first.get("title"), first.get("detail") or first.get("message")]
    else:
        parts = [error, body.get("description") or body.get("error_description")]
    text = ": ".join(str(part) for part in parts if part)
    return text[:300] or response.reason or ""


def safe_url(url: str) -> str:
    """Return a URL without any user info, for messages."""
    parts = urlsplit(url)
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme}://{netloc}{parts.path}{query}"


def is_too_recent(response: requests.Response, summary: str) -> bool:
    """Tell whether a 400 or 422 response rejects ``start_time`` as too recent."""
    return bool(_TOO_RECENT.search(summary) or _TOO_RECENT.search(response.text[:2000]))


def decode_leniently(response: requests.Response) -> object:
    """Decode a body that msgspec rejected, such as one with a lone surrogate escape.

    Raises:
        RetriableAPIError: If the body is not JSON at all, as when it was cut off.
    """
    try:
        return json.loads(response.content)
    except ValueError:
        msg = "incomplete or invalid JSON body"
        raise RetriableAPIError(msg, response) from None


def describe_failure(exc: BaseException | None) -> str:
    """Describe a failed try in a few words, without the response body."""
    if isinstance(exc, RetriableAPIError):
        return str(exc)
    if isinstance(exc, requests.exceptions.Timeout):
        return "request timed out"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "connection closed before the whole body arrived"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connection error"
    return type(exc).__name__

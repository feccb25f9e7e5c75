"""Base stream for Zendesk: host, authentication, pacing, retries and errors."""

from __future__ import annotations

import contextlib
import email.utils
import gc
import json
import random
import re
import typing as t
from dataclasses import dataclass
from functools import cached_property
from http import HTTPStatus
from urllib.parse import urlsplit

import backoff
import msgspec
import requests
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers._util import utc_now
from singer_sdk.mapper import SameRecordTransform
from singer_sdk.singerlib.messages import RecordMessage
from singer_sdk.streams import RESTStream
from typing_extensions import override

from tap_zendesk_incremental import pacing, settings
from tap_zendesk_incremental.auth import (
    API_TOKEN_WARNING,
    APITokenAuth,
    BearerTokenAuth,
    ZendeskAuth,
)
from tap_zendesk_incremental.errors import (
    CredentialsError,
    ExportShapeError,
    ZendeskAPIError,
)
from tap_zendesk_incremental.oauth import build_oauth
from tap_zendesk_incremental.output import BufferedSingerWriter

if t.TYPE_CHECKING:
    import datetime

    from singer_sdk.helpers.types import Context

RETRY_AFTER_DEFAULT_SECONDS = 60.0
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 60.0
_FIRST_NUMBER = re.compile(r"\d+(?:\.\d+)?")
#: Zendesk's answers to a ``start_time`` within the last minute or in the future:
#: 422 "Too recent start_time. Use a start_time older than ...", and reportedly
#: a 400 saying the time is in the future.
_TOO_RECENT = re.compile(r"too recent|in the future|must be in the past", re.IGNORECASE)

#: Container allocations between two young-generation garbage collections while a
#: stream syncs. CPython's default is 700.
GC_YOUNG_THRESHOLD = 100_000

_RETRIED_ERRORS = (
    RetriableAPIError,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class CaughtUpError(Exception):
    """Zendesk answered that ``start_time`` is too recent: nothing more to export."""


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


@dataclass(frozen=True, slots=True)
class RecordPlan:
    """What a record needs before it is written, worked out once per schema.

    Records decoded from Zendesk's JSON already have the declared JSON types, so
    the per-record type conformance of the SDK has nothing to change as long as a
    record carries only declared properties. Records with new properties take the
    SDK's path, which drops them and logs a warning.

    ``direct`` records also skip the SDK's RecordMessage: the stream has only the
    SDK's default stream map, without flattening, which passes records on as they
    are, so the record is encoded straight into the writer's buffer.
    """

    known: frozenset[str]
    open: bool
    deselected: tuple[str, ...]
    fast: bool
    direct: bool


@contextlib.contextmanager
def fewer_gc_passes() -> t.Iterator[None]:
    """Raise the garbage collector's young-generation threshold, then restore it.

    A decoded export page of 1000 tickets is some 44,000 dicts and lists without
    reference cycles, which reference counting frees. At CPython's default
    threshold the cyclic collector walks them many times per page, which took over
    a third of the tap's CPU time in ``benchmarks/run.py``.
    """
    thresholds = gc.get_threshold()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)


class ZendeskStream(RESTStream):
    """A Zendesk Support API stream.

    Every request goes through one :class:`~tap_zendesk_incremental.pacing.RequestPacer`
    shared by the tap's streams, so the per-minute limit holds across them and every
    wait is logged. Retries (429, 5xx, connection errors, timeouts, cut-off bodies)
    use the backoff hooks; :meth:`validate_response` only classifies responses.
    """

    allow_redirects = False
    extracted_at: datetime.datetime | None = None

    @override
    def sync(self, context: Context | None = None) -> None:
        """Check the bookmarks of every stream in state, then sync this stream.

        The SDK syncs streams in name order, so without this check
        ``ticket_fields`` would send requests before ``tickets`` rejects its
        bookmark.
        """
        for stream in self._tap.streams.values():
            if isinstance(stream, ZendeskStream):
                stream.check_bookmark()
        with fewer_gc_passes():
            super().sync(context)

    @cached_property
    def record_plan(self) -> RecordPlan:
        """The per-schema plan for writing this stream's records."""
        properties = self.schema["properties"]
        mask = self.mask
        deselected = tuple(
            name for name in properties if not mask[("properties", name)]
        )
        nested_deselected = any(
            len(breadcrumb) > 2 and not selected  # noqa: PLR2004
            for breadcrumb, selected in mask.items()
        )
        stream_map = self.stream_maps[0]
        return RecordPlan(
            known=frozenset(properties),
            open=self.schema.get("additionalProperties") is True,
            deselected=deselected,
            fast=not nested_deselected,
            direct=not nested_deselected
            and len(self.stream_maps) == 1
            and type(stream_map) is SameRecordTransform
            and not stream_map.flattening_enabled
            and isinstance(self._tap.message_writer, BufferedSingerWriter),
        )

    @cached_property
    def undeclared_fields(self) -> set[str]:
        """Record fields seen in this run that the schema does not declare."""
        return set()

    def fits_plan(self, record: dict) -> bool:
        """Tell whether a record can skip the SDK's per-record conformance.

        Fields the schema does not declare pass through untyped when the schema
        admits them; each new name is logged once per run.
        """
        plan = self.record_plan
        if plan.known.issuperset(record):
            return True
        if not plan.open:
            return False
        new = record.keys() - plan.known - self.undeclared_fields
        if new:
            self.undeclared_fields.update(new)
            self.logger.warning(
                "Stream '%s' has fields the schema does not declare, passed on "
                "untyped: %s",
                self.name,
                ", ".join(sorted(new)),
            )
        return True

    @override
    def _write_record_message(self, record: dict) -> None:
        plan = self.record_plan
        if not plan.direct or not self.fits_plan(record):
            super()._write_record_message(record)
            return
        for name in plan.deselected:
            record.pop(name, None)
        writer = t.cast("BufferedSingerWriter", self._tap.message_writer)
        writer.write_record(
            self.stream_maps[0].stream_alias,
            record,
            self._stream_version,
            self.extracted_at or utc_now(),
        )
        self.state_manager.is_flushed = False

    @override
    def _generate_record_messages(
        self, record: dict
    ) -> t.Generator[RecordMessage, None, None]:
        plan = self.record_plan
        if not plan.fast or not self.fits_plan(record):
            yield from super()._generate_record_messages(record)
            return
        for name in plan.deselected:
            record.pop(name, None)
        extracted_at = self.extracted_at or utc_now()
        for stream_map in self.stream_maps:
            mapped = stream_map.transform(record)
            if mapped is not None:
                yield RecordMessage(
                    stream=stream_map.stream_alias,
                    record=mapped,
                    version=self._stream_version,
                    time_extracted=extracted_at,
                )

    @override
    @property
    def url_base(self) -> str:
        api_url = self.config.get("api_url")
        if api_url:
            return str(api_url).rstrip("/")
        return f"https://{self.config['subdomain']}.zendesk.com"

    @override
    @property
    def http_headers(self) -> dict:
        return {"Accept": "application/json"}

    @override
    @cached_property
    def user_agent(self) -> str:
        # Cached because the SDK reads it for every request, and each read of the
        # installed package's version from its metadata takes about 0.5 ms.
        return self.config.get("user_agent") or (
            f"{self.tap_name}/{self._tap.plugin_version}"
        )

    @override
    @property
    def timeout(self) -> int:
        return self.config.get("request_timeout", 300)

    @override
    @property
    def authenticator(self) -> ZendeskAuth:
        return self.zendesk_auth

    @cached_property
    def zendesk_auth(self) -> ZendeskAuth:
        """The authenticator of the configured method, shared by the tap's streams."""
        shared = getattr(self._tap, "zendesk_auth", None)
        if shared is None:
            shared = self._build_auth()
            self._tap.zendesk_auth = shared
        return shared

    def _build_auth(self) -> ZendeskAuth:
        method = settings.auth_method(self.config)
        if method == "api_token":
            self.logger.warning(API_TOKEN_WARNING)
            return APITokenAuth(
                self.url_base, self.config["email"], self.config["api_token"]
            )
        if method == "access_token":
            return BearerTokenAuth(self.url_base, self.config["access_token"])
        return build_oauth(
            method, self.url_base, self.config, float(self.timeout), self.logger
        )

    def check_bookmark(self) -> None:
        """Check this stream's bookmark in state before the run's first request.

        Streams that resume from a bookmark override this to raise
        :class:`~tap_zendesk_incremental.errors.InvalidStateError`.
        """

    @cached_property
    def pacer(self) -> pacing.RequestPacer:
        """The request pacer, shared by the tap's streams."""
        shared = getattr(self._tap, "pacer", None)
        if shared is None:
            shared = pacing.RequestPacer(
                self.config.get("max_requests_per_minute", 10), self._tap.logger
            )
            self._tap.pacer = shared
        return shared

    def fetch_json(self, url: str, params: dict | None = None) -> dict:
        """Send one GET to Zendesk with retries and return the decoded JSON object.

        Raises:
            CaughtUpError: If Zendesk answered that ``start_time`` is too recent.
            ZendeskAPIError: If the retries ran out.
        """
        request = self.build_prepared_request(
            method="GET", url=url, params=params or {}, headers=self.http_headers
        )
        self._tries = 0
        try:
            return self.request_decorator(self._fetch_once)(request, None)
        except _RETRIED_ERRORS as exc:
            description = _describe_failure(exc)
            tries = "1 try" if self._tries == 1 else f"{self._tries} tries"
            msg = (
                f"Request failed after {tries}: {description} for GET "
                f"{safe_url(request.url or url)}. The last STATE message is exact: "
                "the next run resumes from it."
            )
            raise ZendeskAPIError(msg) from None

    def _fetch_once(
        self, request: requests.PreparedRequest, context: Context | None
    ) -> dict:
        self._tries += 1
        self.pacer.wait_turn()
        response = self._request(request, context)
        self.extracted_at = utc_now()
        try:
            body = msgspec.json.decode(response.content)
        except msgspec.DecodeError:
            body = _decode_leniently(response)
        if not isinstance(body, dict):
            msg = f"expected a JSON object from {safe_url(request.url or '')}"
            raise ExportShapeError(msg)
        return body

    @override
    def _request(
        self, prepared_request: requests.PreparedRequest, context: Context | None
    ) -> requests.Response:
        response = self._send(prepared_request)
        if (
            response.status_code == HTTPStatus.UNAUTHORIZED
            and self.zendesk_auth.renew()
        ):
            self.logger.info("Access token rejected; retrying once with a new one")
            self.pacer.observe(response.headers.get("X-Rate-Limit-Remaining"))
            self.pacer.wait_turn()
            response = self._send(prepared_request)
        self.pacer.observe(response.headers.get("X-Rate-Limit-Remaining"))
        self.validate_response(response)
        return response

    def _send(self, prepared_request: requests.PreparedRequest) -> requests.Response:
        authenticated = self.zendesk_auth(prepared_request)
        response = self.requests_session.send(
            authenticated, timeout=self.timeout, allow_redirects=False
        )
        self._write_request_duration_log(
            endpoint=self.path or "", response=response, context=None, extra_tags=None
        )
        return response

    @override
    def validate_response(self, response: requests.Response) -> None:
        status = response.status_code
        if HTTPStatus.OK <= status < HTTPStatus.MULTIPLE_CHOICES:
            return
        summary = error_summary(response)
        url = safe_url(response.url)
        if (
            status == HTTPStatus.TOO_MANY_REQUESTS
            or status >= HTTPStatus.INTERNAL_SERVER_ERROR
        ):
            msg = f"HTTP {status} {summary}".rstrip()
            raise RetriableAPIError(msg, response)
        if status in {HTTPStatus.BAD_REQUEST, HTTPStatus.UNPROCESSABLE_ENTITY} and (
            _TOO_RECENT.search(summary) or _TOO_RECENT.search(response.text[:2000])
        ):
            raise CaughtUpError(summary)
        raise self._fatal_error(status, summary, url, response)

    def _fatal_error(
        self, status: int, summary: str, url: str, response: requests.Response
    ) -> Exception:
        auth = self.zendesk_auth
        if HTTPStatus.MULTIPLE_CHOICES <= status < HTTPStatus.BAD_REQUEST:
            target = safe_url(response.headers.get("Location", "")) or "elsewhere"
            msg = (
                f"Zendesk redirected GET {url} to {target} (HTTP {status}); the tap "
                "does not follow redirects with credentials: check `subdomain` and "
                "`api_url`."
            )
            return ZendeskAPIError(msg)
        if status == HTTPStatus.UNAUTHORIZED:
            msg = (
                f"Zendesk rejected the credentials (HTTP 401 {summary}) of "
                f"authentication method {auth.method}: {auth.rejection_fix}."
            )
            return CredentialsError(msg)
        if status == HTTPStatus.FORBIDDEN:
            msg = (
                f"Zendesk denied access to GET {url} (HTTP 403 {summary}): the "
                "incremental export needs an admin user, and an OAuth token needs "
                "the `read` scope."
            )
            return CredentialsError(msg)
        if status == HTTPStatus.NOT_FOUND:
            msg = (
                f"Zendesk answered HTTP 404 {summary} for GET {url}: check "
                "`subdomain` (acme for acme.zendesk.com) or `api_url`."
            )
            return ZendeskAPIError(msg)
        msg = f"Zendesk rejected GET {url} with HTTP {status} {summary}".rstrip() + "."
        return ZendeskAPIError(msg)

    @override
    def request_decorator(self, func: t.Callable) -> t.Callable:
        return backoff.on_exception(
            self.backoff_wait_generator,
            _RETRIED_ERRORS,
            max_tries=self.backoff_max_tries,
            jitter=None,
            logger=None,
        )(func)

    @override
    def backoff_wait_generator(self) -> t.Generator[float, None, None]:
        return self.backoff_runtime(value=self._schedule_retry)

    @override
    def backoff_max_tries(self) -> int:
        return int(self.config.get("max_retries", 8)) + 1

    def _schedule_retry(self, exc: Exception) -> float:
        """Compute the wait before the next try and hand it to the pacer.

        The pacer sleeps before the next request and logs the wait with the
        reason built here, so backoff itself waits zero and logs nothing.
        """
        response = getattr(exc, "response", None)
        retry_after = None
        if response is not None:
            retry_after = parse_retry_after(
                response.headers.get("Retry-After"), self.pacer.clock.time()
            )
        failure = (
            f"try {self._tries} of {self.backoff_max_tries()} failed with "
            f"{_describe_failure(exc)}"
        )
        if retry_after is not None:
            reason = f"{failure}, and Zendesk asked to retry after {retry_after:g} s"
        elif (
            response is not None
            and response.status_code == HTTPStatus.TOO_MANY_REQUESTS
        ):
            retry_after = RETRY_AFTER_DEFAULT_SECONDS
            reason = f"{failure} and no Retry-After header"
        else:
            ceiling = min(BACKOFF_MAX_SECONDS, BACKOFF_BASE_SECONDS * 2**self._tries)
            retry_after = random.uniform(ceiling / 2, ceiling)  # noqa: S311
            reason = f"{failure}, backing off exponentially"
        self.pacer.defer(retry_after, reason)
        return 0.0


def _decode_leniently(response: requests.Response) -> object:
    """Decode a body that msgspec rejected, such as one with a lone surrogate escape.

    Raises:
        RetriableAPIError: If the body is not JSON at all, as when it was cut off.
    """
    try:
        return json.loads(response.content)
    except ValueError:
        msg = "incomplete or invalid JSON body"
        raise RetriableAPIError(msg, response) from None


def _describe_failure(exc: BaseException | None) -> str:
    if isinstance(exc, RetriableAPIError):
        return str(exc)
    if isinstance(exc, requests.exceptions.Timeout):
        return "request timed out"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return "connection closed before the whole body arrived"
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "connection error"
    return type(exc).__name__

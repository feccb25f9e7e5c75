"""Base stream for Zendesk: host, authentication, pacing, retries and errors."""

from __future__ import annotations

import random
import typing as t
from functools import cached_property
from http import HTTPStatus

import backoff
import msgspec
import requests
from singer_sdk.exceptions import RetriableAPIError
from singer_sdk.helpers._util import utc_now
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
from tap_zendesk_incremental.records import FastRecordStream, fewer_gc_passes
from tap_zendesk_incremental.responses import (
    CaughtUpError,
    decode_leniently,
    describe_failure,
    error_summary,
    is_too_recent,
    parse_retry_after,
    safe_url,
)

if t.TYPE_CHECKING:
    from singer_sdk.helpers.types import Context

RETRY_AFTER_DEFAULT_SECONDS = 60.0
BACKOFF_BASE_SECONDS = 1.0
BACKOFF_MAX_SECONDS = 60.0
_RETRIED_ERRORS = (
    RetriableAPIError,
    requests.exceptions.ConnectionError,
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class ZendeskStream(FastRecordStream, RESTStream):
    """A Zendesk Support API stream.

    Every request goes through one :class:`~tap_zendesk_incremental.pacing.RequestPacer`
    shared by the tap's streams, so the per-minute limit applies across them and every
    wait is logged. Retries (429, 5xx, connection errors, timeouts, cut-off bodies)
    use the backoff hooks; :meth:`validate_response` only classifies responses.
    """

    allow_redirects = False

    @override
    def sync(self, context: Context | None = None) -> None:
        """Check the bookmarks of every stream in state, then sync this stream.

        An invalid bookmark of any stream stops the run before its first request,
        whichever stream the SDK syncs first.
        """
        for stream in self._tap.streams.values():
            if isinstance(stream, ZendeskStream):
                stream.check_bookmark()
        with fewer_gc_passes():
            super().sync(context)

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
            CaughtUpError: If Zendesk rejected ``start_time`` as too recent.
            ZendeskAPIError: If the retries ran out.
        """
        request = self.build_prepared_request(
            method="GET", url=url, params=params or {}, headers=self.http_headers
        )
        self._tries = 0
        try:
            return self.request_decorator(self._fetch_once)(request, None)
        except _RETRIED_ERRORS as exc:
            description = describe_failure(exc)
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
            body = decode_leniently(response)
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
            is_too_recent(response, summary)
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
            f"{describe_failure(exc)}"
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

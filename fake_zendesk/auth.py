"""API token and OAuth authentication, including the `/oauth/tokens` grants.

Secrets are compared in constant time and never logged or recorded.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from fake_zendesk.errors import (
    FORBIDDEN_BODY,
    INVALID_TOKEN_BODY,
    UNAUTHENTICATED_BODY,
    ApiError,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from fake_zendesk.clock import Clock

AuthScheme = Literal["basic", "bearer", "none"]
BEARER_CHALLENGE = 'Bearer realm="Doorkeeper", error="invalid_token"'
READ_SCOPES = frozenset({"read", "tickets:read"})
REFRESH_TOKEN_LIFETIME = 30 * 86_400
INVALID_CLIENT_BODY = {
    "error": "invalid_client",
    "error_description": (
        "Client authentication failed due to unknown client, no client authentication "
        "included, or unsupported authentication method."
    ),
}
INVALID_GRANT_BODY = {
    "error": "invalid_grant",
    "error_description": (
        "The provided authorization grant is invalid, expired, revoked, does not match "
        "the redirection URI used in the authorization request, or was issued to "
        "another client."
    ),
}


@dataclass(frozen=True)
class IssuedToken:
    """An OAuth token the server issued: expiry in clock seconds and its scopes."""

    expires_at: float | None
    scopes: frozenset[str]


def auth_scheme(header: str | None) -> AuthScheme:
    """Return which kind of credentials an `Authorization` header carries."""
    scheme = (header or "").partition(" ")[0].lower()
    if scheme == "basic":
        return "basic"
    if scheme == "bearer":
        return "bearer"
    return "none"


def _decode_basic(header: str) -> tuple[str, str] | None:
    """Return the user and password of a Basic `Authorization` header."""
    try:
        decoded = base64.b64decode(header.partition(" ")[2].strip(), validate=True)
        user, separator, password = decoded.decode().partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return (user, password) if separator else None


def _same(received: str, expected: str) -> bool:
    return hmac.compare_digest(received.encode(), expected.encode())


@dataclass(frozen=True)
class Credentials:
    """The credentials an account accepts; see `FakeZendesk` for each field."""

    email: str
    api_token: str | None
    access_tokens: frozenset[str] = frozenset()
    oauth_clients: Mapping[str, str] = field(default_factory=dict)
    refresh_tokens: frozenset[str] = frozenset()
    token_lifetime: float = 1800
    refresh_token_lifetime: float = REFRESH_TOKEN_LIFETIME


class Authenticator:
    """Check API requests and run the OAuth token grants. Thread-safe."""

    def __init__(self, clock: Clock, credentials: Credentials) -> None:
        """Create an authenticator that reads token expiry from `clock`."""
        self._clock = clock
        self._basic_user = f"{credentials.email.lower()}/token"
        self._api_token = credentials.api_token
        self._clients = dict(credentials.oauth_clients)
        self._token_lifetime = credentials.token_lifetime
        self._refresh_lifetime = credentials.refresh_token_lifetime
        self._lock = threading.Lock()
        static = IssuedToken(None, frozenset({"read", "write"}))
        self._access = dict.fromkeys(credentials.access_tokens, static)
        self._refresh = dict.fromkeys(
            credentials.refresh_tokens, IssuedToken(None, frozenset({"read"}))
        )

    def check(self, header: str | None) -> None:
        """Raise unless `header` authenticates a request that may read tickets.

        Raises:
            ApiError: 401 for missing or wrong credentials, 403 for an OAuth token
                without a read scope.
        """
        scheme = auth_scheme(header)
        if scheme == "bearer":
            self._check_bearer((header or "").partition(" ")[2].strip())
            return
        if scheme == "basic" and self._basic_matches(header or ""):
            return
        raise ApiError(
            401,
            UNAUTHENTICATED_BODY,
            {"WWW-Authenticate": 'Basic realm="Web Password"'},
        )

    def _basic_matches(self, header: str) -> bool:
        credentials = _decode_basic(header)
        if credentials is None or self._api_token is None:
            return False
        user, password = credentials
        return _same(user.lower(), self._basic_user) and _same(
            password, self._api_token
        )

    def _check_bearer(self, token: str) -> None:
        with self._lock:
            issued = self._access.get(token)
        now = self._clock.time()
        if issued is None or (
            issued.expires_at is not None and issued.expires_at <= now
        ):
            raise ApiError(
                401,
                INVALID_TOKEN_BODY,
                {"WWW-Authenticate": BEARER_CHALLENGE},
            )
        if not issued.scopes & READ_SCOPES:
            raise ApiError(403, FORBIDDEN_BODY)

    def revoke_tokens(self) -> None:
        """Invalidate every access token, static and issued; refresh tokens stay."""
        with self._lock:
            self._access.clear()

    def grant(self, params: Mapping[str, str], header: str | None) -> dict:
        """Run an OAuth grant at `/oauth/tokens` and return the token response.

        Args:
            params: The form or JSON body fields.
            header: The `Authorization` header, which may carry the client id and
                secret as Basic credentials.

        Raises:
            ApiError: 400 for a missing parameter, an unsupported grant type or a
                bad refresh token, 401 for unknown client credentials.
        """
        grant_type = params.get("grant_type")
        if grant_type not in {"client_credentials", "refresh_token"}:
            raise ApiError(
                400,
                {
                    "error": "unsupported_grant_type",
                    "error_description": (
                        "The authorization grant type is not supported by the "
                        "authorization server."
                    ),
                },
            )
        self._authenticate_client(params, header)
        if grant_type == "client_credentials":
            scope = params.get("scope") or "read"
            return self._issue(frozenset(scope.split()), with_refresh=False)
        return self._rotate(params.get("refresh_token"))

    def _authenticate_client(
        self, params: Mapping[str, str], header: str | None
    ) -> None:
        client_id = params.get("client_id")
        client_secret = params.get("client_secret")
        if client_id is None and auth_scheme(header) == "basic":
            credentials = _decode_basic(header or "")
            if credentials is not None:
                client_id, client_secret = credentials
        expected = self._clients.get(client_id or "")
        if expected is None or not _same(client_secret or "", expected):
            raise ApiError(401, INVALID_CLIENT_BODY)

    def _rotate(self, refresh_token: str | None) -> dict:
        if not refresh_token:
            raise ApiError(
                400,
                {
                    "error": "invalid_request",
                    "error_description": "The request is missing refresh_token.",
                },
            )
        with self._lock:
            old = self._refresh.pop(refresh_token, None)
        now = self._clock.time()
        if old is None or (old.expires_at is not None and old.expires_at <= now):
            raise ApiError(400, INVALID_GRANT_BODY)
        return self._issue(old.scopes, with_refresh=True)

    def _issue(self, scopes: frozenset[str], *, with_refresh: bool) -> dict:
        now = self._clock.time()
        access_token = secrets.token_urlsafe(32)
        response: dict = {
            "access_token": access_token,
            "token_type": "bearer",
            "scope": " ".join(sorted(scopes)),
            "expires_in": int(self._token_lifetime),
        }
        with self._lock:
            self._access[access_token] = IssuedToken(now + self._token_lifetime, scopes)
            if with_refresh:
                refresh_token = secrets.token_urlsafe(32)
                expires_at = now + self._refresh_lifetime
                self._refresh[refresh_token] = IssuedToken(expires_at, scopes)
                response["refresh_token"] = refresh_token
                response["refresh_token_expires_in"] = int(self._refresh_lifetime)
        return response

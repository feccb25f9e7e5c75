"""OAuth grants for unattended runs: client credentials and rotating refresh tokens.

Access tokens of new Zendesk OAuth clients expire after 30 minutes, while a first
export of a large account runs for hours. The tap therefore renews the token
before it expires, and once more when Zendesk answers 401 ``invalid_token``.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import typing as t
from pathlib import Path

import requests

from tap_zendesk_incremental import pacing
from tap_zendesk_incremental.auth import ZendeskAuth
from tap_zendesk_incremental.errors import CredentialsError

if t.TYPE_CHECKING:
    from collections.abc import Mapping

TOKEN_PATH = "/oauth/tokens"  # noqa: S105 (a URL path, not a secret)
RENEW_MARGIN_SECONDS = 60.0
TOKEN_TRIES = 3


class OAuthAuth(ZendeskAuth):
    """Bearer tokens obtained from ``/oauth/tokens`` on the configured host."""

    def __init__(  # noqa: PLR0913
        self,
        base_url: str,
        client_id: str,
        client_secret: str,
        *,
        session: requests.Session,
        timeout: float,
        refresh_token: str | None = None,
        token_file: str | None = None,
    ) -> None:
        """Prepare the grant; no request is sent until the first API request."""
        super().__init__(base_url)
        self.method = (
            "oauth_refresh_token" if refresh_token else "oauth_client_credentials"
        )
        self._token_url = base_url.rstrip("/") + TOKEN_PATH
        self._client_id = client_id
        self._client_secret = client_secret
        self._session = session
        self._timeout = timeout
        self._token_file = Path(token_file) if token_file else None
        self._refresh_token = self._stored_refresh_token() or refresh_token
        self._access_token: str | None = None
        self._expires_at = 0.0

    def authorization(self) -> str:
        """Return a Bearer header value, renewing a token about to expire."""
        if self._access_token is None or self._expiring():
            self._obtain()
        return f"Bearer {self._access_token}"

    def renew(self) -> bool:
        """Obtain a new access token after Zendesk rejected the current one."""
        self._obtain()
        return True

    def _expiring(self) -> bool:
        return pacing.CLOCK.time() >= self._expires_at

    def _obtain(self) -> None:
        payload = {
            "client_id": self._client_id,
            "client_secret": self._client_secret,
        }
        if self._refresh_token:
            payload |= {
                "grant_type": "refresh_token",
                "refresh_token": self._refresh_token,
            }
        else:
            payload |= {"grant_type": "client_credentials", "scope": "read"}
        body = self._post_token_request(payload)

        self._access_token = str(body["access_token"])
        lifetime = float(body.get("expires_in") or 0) or float("inf")
        margin = min(RENEW_MARGIN_SECONDS, lifetime / 10)
        self._expires_at = pacing.CLOCK.time() + lifetime - margin
        rotated = body.get("refresh_token")
        if self._refresh_token and rotated and rotated != self._refresh_token:
            self._refresh_token = str(rotated)
            self._store_refresh_token(self._refresh_token)

    def _post_token_request(self, payload: Mapping[str, str]) -> dict:
        grant = payload["grant_type"]
        for attempt in range(1, TOKEN_TRIES + 1):
            try:
                response = self._session.post(
                    self._token_url,
                    json=payload,
                    timeout=self._timeout,
                    allow_redirects=False,
                )
            except requests.exceptions.RequestException:
                if attempt == TOKEN_TRIES:
                    msg = (
                        f"Could not reach {self._token_url} for the OAuth {grant} "
                        f"grant after {TOKEN_TRIES} tries: connection error."
                    )
                    raise CredentialsError(msg) from None
                pacing.CLOCK.sleep(2.0**attempt)
                continue
            if response.status_code >= 500 and attempt < TOKEN_TRIES:  # noqa: PLR2004
                pacing.CLOCK.sleep(2.0**attempt)
                continue
            return self._token_body(response, grant)
        raise AssertionError  # pragma: no cover

    def _token_body(self, response: requests.Response, grant: str) -> dict:
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.ok and isinstance(body, dict) and body.get("access_token"):
            return body
        error = body.get("error", "") if isinstance(body, dict) else ""
        detail = body.get("error_description", "") if isinstance(body, dict) else ""
        fix = (
            "set a new `oauth_refresh_token` (and remove the stored one in "
            "`oauth_refresh_token_file`)"
            if grant == "refresh_token"
            else "check `oauth_client_id` and `oauth_client_secret`"
        )
        msg = (
            f"Zendesk refused the OAuth {grant} grant (HTTP {response.status_code} "
            f"{error}: {detail[:200]}): {fix}."
        )
        raise CredentialsError(msg)

    def _stored_refresh_token(self) -> str | None:
        if self._token_file is None or not self._token_file.exists():
            return None
        return self._token_file.read_text(encoding="utf-8").strip() or None

    def _store_refresh_token(self, token: str) -> None:
        """Write the rotated refresh token atomically, readable by the owner only."""
        if self._token_file is None:
            return
        directory = self._token_file.parent
        directory.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".refresh-token-")
        try:
            os.fchmod(handle, 0o600)
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                stream.write(token + "\n")
                stream.flush()
                os.fsync(stream.fileno())
            Path(temporary).replace(self._token_file)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                Path(temporary).unlink()
            raise


def build_oauth(
    method: str,
    base_url: str,
    config: Mapping[str, t.Any],
    session: requests.Session,
    timeout: float,
) -> OAuthAuth:
    """Create the OAuth authenticator of the configured grant."""
    refresh = (
        config.get("oauth_refresh_token") if method == "oauth_refresh_token" else None
    )
    return OAuthAuth(
        base_url,
        config["oauth_client_id"],
        config["oauth_client_secret"],
        session=session,
        timeout=timeout,
        refresh_token=refresh or None,
        token_file=config.get("oauth_refresh_token_file") or None,
    )
